// What a signed-in user does to their own account: change the password, end the other
// sessions (ending one session is the sessions module's revokeOwnSession). Every change
// and its audit record share one transaction.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { recordFailedAttempt, reserveCredentialAttempt, sessionCounters, weakPasswordError, type AuthContext } from '../auth/index.ts';
import { passwordChangedMail } from '../mail/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { findUserById, loadProfile, setPasswordHash } from '../users/index.ts';
import type { SettingsDeps } from './deps.ts';

export async function revokeOtherSessions(deps: SettingsDeps, auth: AuthContext, context: RequestContext): Promise<number> {
  const now = deps.clock();
  const revoked = await deps.change(context, async ({ trx, audit }) => {
    const ids = await revokeUserSessions(trx, auth.userId, 'user_revoked_others', now, { except: auth.sessionId });
    for (const id of ids) {
      audit({
        actor: { type: 'user', id: auth.userId },
        action: 'session.revoked',
        target: { type: 'session', id },
        outcome: 'success',
        details: { reason: 'user_revoked_others' },
      });
    }
    return ids;
  });
  return revoked.length;
}

export async function changePassword(
  deps: SettingsDeps,
  auth: AuthContext,
  input: { currentPassword: string; newPassword: string },
  context: RequestContext,
): Promise<void> {
  const user = await findUserById(deps.db, auth.userId);
  if (user?.passwordHash === null || user === null) throw new AppError('invalid_credentials', { detail: 'no password set' });
  // A stolen access token must not become an unlimited password oracle; the session's own
  // counter, so a stranger's flood against the account cannot block the owner's change.
  const counter = sessionCounters({ emailIndex: user.emailIndex, userId: user.id }, auth.sessionId).password;
  await reserveCredentialAttempt(deps, counter);
  const check = await deps.passwords.verify(user.passwordHash, input.currentPassword);
  if (!check.ok) {
    await recordFailedAttempt(deps, user.emailIndex, user, context, { counter });
    throw new AppError('invalid_credentials', { detail: 'current password wrong' });
  }
  await deps.lockout.recordSuccess(counter);
  const profile = await loadProfile(deps.db, deps.keyring, auth.userId);
  const verdict = await deps.policy.check(input.newPassword, profile === null ? {} : { email: profile.email, name: profile.name });
  if (!verdict.ok) throw weakPasswordError(verdict, 'new_password');
  const passwordHash = await deps.passwords.hash(input.newPassword);
  const now = deps.clock();
  await deps.change(context, async ({ trx, audit, enqueue }) => {
    await setPasswordHash(trx, auth.userId, passwordHash, now);
    const ids = await revokeUserSessions(trx, auth.userId, 'password_changed', now, { except: auth.sessionId });
    audit({
      actor: { type: 'user', id: auth.userId },
      action: 'password.changed',
      target: { type: 'user', id: auth.userId },
      outcome: 'success',
      details: { sessions_revoked: ids.length },
    });
    if (profile !== null) enqueue(deps.mail.job(passwordChangedMail(profile.email), { userId: auth.userId, essential: true }));
  });
}
