// An account created through the admin API without a password is an invitation: the
// administrator never knows the user's password, and the address is verified only when
// its owner follows the mailed link. The link is a one-time `password_reset` token with
// a longer life (INVITATION_TTL), so accepting it is an ordinary reset: POST
// /v1/auth/password/reset sets the first password and marks the address verified. A
// lost or expired invitation is replaced by POST /v1/admin/users/{id}/password-reset.
import type { Transaction } from 'kysely';
import type { Schema } from '../../core/db/schema.ts';
import type { AuthDeps } from '../auth/index.ts';
import { INVITATION_TTL, issueOneTimeToken } from '../auth/index.ts';
import { invitationMail } from '../mail/index.ts';
import type { AdminActor } from './users-service.ts';

/** Issues the invitation token and its audit record in the creating transaction. */
export async function issueInvitation(deps: AuthDeps, trx: Transaction<Schema>, actor: AdminActor, userId: string): Promise<string> {
  const token = await issueOneTimeToken(trx, 'password_reset', userId, deps.clock(), { ttlSeconds: INVITATION_TTL });
  await deps.audit.record(trx, actor.context, {
    actor: { type: 'user', id: actor.userId },
    action: 'user.invited',
    target: { type: 'user', id: userId },
    outcome: 'success',
    details: { expires_in: INVITATION_TTL },
  });
  return token;
}

/** After the commit: the mail carries the link, in its fragment, built from PUBLIC_URL. */
export function mailInvitation(deps: Pick<AuthDeps, 'mailer' | 'publicURL'>, email: string, token: string): void {
  deps.mailer.enqueue(invitationMail({ publicURL: deps.publicURL }, email, token, INVITATION_TTL / 3600));
}
