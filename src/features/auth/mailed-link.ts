// The account-job half of verification resend and reset requests: issue a one-time link
// for an account, record it, and mail it to the account's stored address (not the one
// typed: they match by blind index, but only the stored one is known to belong to the
// account), all in one change. Earlier links stay valid until they expire or one is used,
// so a stream of requests cannot keep killing the owner's link.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { OneTimeTokenPurpose } from '../../core/db/schema.ts';
import type { MailMessage, OutgoingMail } from '../mail/index.ts';
import { loadEmail } from '../users/index.ts';
import { issueOneTimeToken } from './one-time-tokens.ts';

export interface MailedLinkDeps {
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly mail: OutgoingMail;
  readonly change: Changes;
}

export interface MailedLink {
  readonly userId: string;
  readonly purpose: OneTimeTokenPurpose;
  /** The audit action, e.g. `password.reset_requested`. */
  readonly action: string;
  readonly message: (address: string, token: string) => MailMessage;
}

export async function mailOneTimeLink(deps: MailedLinkDeps, context: RequestContext, link: MailedLink): Promise<void> {
  const now = deps.clock();
  await deps.change(context, async ({ trx, audit, enqueue }) => {
    const token = await issueOneTimeToken(trx, link.purpose, link.userId, now);
    audit({ actor: { type: 'anonymous' }, action: link.action, target: { type: 'user', id: link.userId }, outcome: 'success' });
    const address = await loadEmail(trx, deps.keyring, link.userId);
    if (address !== null) enqueue(deps.mail.job(link.message(address, token), { userId: link.userId }));
  });
}
