// Erasing an account, whoever asks (an administrator, the owner, the retention job for
// accounts never confirmed): its sessions end, its rows go by cascade, the addresses and
// user agents of the audit records of what the person did are removed
// (core/audit/redact.ts; the chain still verifies), and its data key goes, so the encrypted email and name left
// anywhere in this database can no longer be read (crypto-shredding). The erasure is
// written to the ledger (`shredded_keys`), which a restore of an older backup re-applies
// (erasureQueries below; docs/privacy.md). Runs inside the caller's audited change.
import type { Compilable, Transaction } from 'kysely';
import { erasedUserRecordsRedaction, redactErasedUserRecords } from '../../core/audit/redact.ts';
import { shredDataKey } from '../../core/crypto/envelope.ts';
import type { DB } from '../../core/db/database.ts';
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

/**
 * The same erasure as queries, in order, for a backup restore re-applying the ledger on
 * the raw session of its one transaction, where nobody is signed in (the sessions go by
 * cascade). Harmless for an id the restored database does not hold.
 */
export function erasureQueries(db: DB, ownerId: string): Compilable[] {
  return [
    db.deleteFrom('login_failures').where('subject', 'in', db.selectFrom('users').select('email_index').where('id', '=', ownerId)),
    db.deleteFrom('users').where('id', '=', ownerId),
    erasedUserRecordsRedaction(db, ownerId),
    db.deleteFrom('data_keys').where('owner_id', '=', ownerId),
  ];
}
