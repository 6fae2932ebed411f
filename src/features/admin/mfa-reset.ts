// An administrator removes a user's second factors (a lost phone and lost recovery
// codes). Only someone holding every permission the user's roles grant may (guards.ts),
// so support cannot strip an admin's factor; every session of the user ends, since one of
// them may be the thief's; the user is told by mail; the action is audited.
import { AppError } from '../../core/errors.ts';
import { secondFactorChangedMail } from '../mail/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { findUserById, loadEmail } from '../users/index.ts';
import type { AdminUserDeps } from './deps.ts';
import { assertMayManage } from './guards.ts';
import type { AdminActor } from './users-service.ts';

export async function removeSecondFactorsByAdmin(deps: AdminUserDeps, actor: AdminActor, id: string): Promise<void> {
  if ((await findUserById(deps.db, id)) === null) throw new AppError('not_found', { detail: 'no such user' });
  await assertMayManage(deps.db, deps.authorizer, actor.userId, id);
  const now = deps.clock();
  await deps.change(actor.context, async ({ trx, audit, enqueue }) => {
    const totp = await trx.deleteFrom('mfa_totp').where('user_id', '=', id).executeTakeFirst();
    const codes = await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', id).executeTakeFirst();
    const passkeys = await trx.deleteFrom('passkeys').where('user_id', '=', id).executeTakeFirst();
    const sessions = await revokeUserSessions(trx, id, 'mfa_reset', now);
    audit({
      actor: { type: 'user', id: actor.userId },
      action: 'mfa.reset_by_admin',
      target: { type: 'user', id },
      outcome: 'success',
      details: { authenticator_app_removed: totp.numDeletedRows > 0n, recovery_set_removed: Number(codes.numDeletedRows), passkeys_removed: Number(passkeys.numDeletedRows), sessions_revoked: sessions.length },
    });
    for (const sessionId of sessions) {
      audit({ actor: { type: 'user', id: actor.userId }, action: 'session.revoked', target: { type: 'session', id: sessionId }, outcome: 'success', details: { reason: 'mfa_reset', user_id: id } });
    }
    const email = await loadEmail(trx, deps.keyring, id);
    if (email !== null) {
      const text = 'An administrator removed the second factors of your account and signed out all its sessions. Set up a new second factor when you next sign in.';
      enqueue(deps.mail.job(secondFactorChangedMail(email, text), { userId: id, essential: true }));
    }
  });
}
