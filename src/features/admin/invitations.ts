// An account created through the admin API without a password is an invitation: the
// administrator never knows the user's password, and the address is verified only when
// its owner follows the mailed link. The link is a one-time `password_reset` token with
// a longer life (INVITATION_TTL), so accepting it is an ordinary reset: POST
// /v1/auth/password/reset sets the first password and marks the address verified. A
// lost or expired invitation is replaced by POST /v1/admin/users/{id}/password-reset.
import type { Change } from '../../core/change.ts';
import { INVITATION_TTL, issueOneTimeToken } from '../auth/index.ts';
import { invitationMail } from '../mail/index.ts';
import type { AdminUserDeps } from './deps.ts';
import type { AdminActor } from './users-service.ts';

/**
 * Issues the invitation token, its audit record and its mail in the creating change; the
 * mail carries the link, in its fragment, built from PUBLIC_URL.
 */
export async function issueInvitation(deps: Pick<AdminUserDeps, 'clock' | 'mail' | 'publicURL'>, change: Change, actor: AdminActor, invitee: { readonly id: string; readonly email: string }): Promise<void> {
  const token = await issueOneTimeToken(change.trx, 'password_reset', invitee.id, deps.clock(), { ttlSeconds: INVITATION_TTL });
  change.audit({
    actor: { type: 'user', id: actor.userId },
    action: 'user.invited',
    target: { type: 'user', id: invitee.id },
    outcome: 'success',
    details: { expires_in: INVITATION_TTL },
  });
  change.enqueue(deps.mail.job(invitationMail({ publicURL: deps.publicURL }, invitee.email, token, INVITATION_TTL / 3600), { userId: invitee.id }));
}
