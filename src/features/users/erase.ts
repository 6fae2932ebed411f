// Erasing an account, whoever asks (an administrator, the owner, the retention job for
// accounts never confirmed): its sessions end, its rows go by cascade, the addresses and
// user agents of the audit records of what the person did are removed
// (core/audit/redact.ts; the chain still verifies), and its data key goes, so the encrypted email and name left
// anywhere in this database can no longer be read (crypto-shredding). Backups taken
// before still hold the wrapped key: see docs/privacy.md. Runs inside the caller's
// audited change.
import type { Transaction } from 'kysely';
import { redactErasedUserRecords } from '../../core/audit/redact.ts';
import { shredDataKey } from '../../core/crypto/envelope.ts';
import type { Schema } from '../../core/db/schema.ts';
import { revokeUserSessions } from '../sessions/index.ts';

/** Erases the account; answers how many of its sessions were still live. */
export async function eraseAccount(trx: Transaction<Schema>, user: { readonly id: string; readonly emailIndex: string }, reason: string, now: Date): Promise<number> {
  const ended = await revokeUserSessions(trx, user.id, reason, now);
  await trx.deleteFrom('login_failures').where('subject', '=', user.emailIndex).execute();
  await trx.deleteFrom('users').where('id', '=', user.id).execute();
  // Once the account is gone (the trigger checks): what the person provably did.
  await redactErasedUserRecords(trx, user.id);
  await shredDataKey(trx, user.id);
  return ended.length;
}
