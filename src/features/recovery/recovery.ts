// Password recovery. `forgot` answers 202 for every address once its job is saved and
// the job does the work (auth/account-jobs.ts), so nothing about the answer depends on
// whether the account exists.
// A completed reset ends every session, lifts any lockout and any reset an operator forced
// (`gatehouse incident force-password-reset`).
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { consumeOneTimeToken, expireOneTimeTokens, isOneTimeTokenUsable, mailOneTimeLink, weakPasswordError, type AddressJob } from '../auth/index.ts';
import { passwordResetMail } from '../mail/index.ts';
import { revokeUserSessions } from '../sessions/index.ts';
import { clearPasswordResetRequired, findUserByEmail, findUserById, loadProfile, lockoutSubjectsOf, markEmailVerified, setPasswordHash } from '../users/index.ts';
import type { RecoveryDeps } from './deps.ts';

/** The reset-request job: a link to the stored address of an enabled account. */
export async function sendResetLink(deps: RecoveryDeps, job: AddressJob): Promise<void> {
  const user = await findUserByEmail(deps.db, deps.blindIndex, job.email);
  if (user === null || user.status === 'disabled') return;
  await mailOneTimeLink(deps, job.context, {
    userId: user.id,
    purpose: 'password_reset',
    action: 'password.reset_requested',
    message: (address, token) => passwordResetMail({ publicURL: deps.publicURL }, address, token),
  });
}

/** Answers the same for every address: one job, committed before the 202. */
export async function forgotPassword(deps: RecoveryDeps, email: string, context: RequestContext): Promise<void> {
  await deps.change(context, ({ enqueue }) => {
    enqueue(deps.accountJobs.resetRequest.job({ email, context }));
    return Promise.resolve();
  });
}

export async function resetPassword(deps: RecoveryDeps, token: string, password: string, context: RequestContext): Promise<void> {
  const now = deps.clock();
  // A cheap lookup first: a bogus token must not cost an argon2id hash.
  if (!(await isOneTimeTokenUsable(deps.db, 'password_reset', token, now))) {
    throw new AppError('invalid_link', { detail: 'reset token unknown, used or expired' });
  }
  // Hashed before the transaction so no row lock is held during the hash, and the policy's
  // dictionaries loaded before it too (on first use they come from a child process; on
  // PGlite an open transaction holds the only connection).
  const passwordHash = await deps.passwords.hash(password);
  await deps.policy.ready();
  const result = await deps.change(context, async ({ trx, audit }) => {
    const userId = await consumeOneTimeToken(trx, 'password_reset', token, now);
    if (userId === null) return { kind: 'invalid' as const };
    const profile = await loadProfile(trx, deps.keyring, userId);
    const verdict = await deps.policy.check(password, profile === null ? {} : { email: profile.email, name: profile.name });
    // Thrown inside the transaction, so the token is not spent on a refused password.
    if (!verdict.ok) throw weakPasswordError(verdict);
    await setPasswordHash(trx, userId, passwordHash, now);
    // A new password chosen through the mailbox is what a forced reset asked for.
    await clearPasswordResetRequired(trx, userId);
    // Following the link proved control of the mailbox: the address is verified now.
    // Without this, someone who registered a victim's address first would keep the
    // victim out (every login `email_not_verified`), with no way to recover.
    await markEmailVerified(trx, userId, now);
    await expireOneTimeTokens(trx, 'password_reset', userId, now);
    const revoked = await revokeUserSessions(trx, userId, 'password_reset', now);
    audit({
      actor: { type: 'user', id: userId },
      action: 'password.reset_completed',
      target: { type: 'user', id: userId },
      outcome: 'success',
      details: { sessions_revoked: revoked.length },
    });
    return { kind: 'done' as const, userId };
  });
  if (result.kind === 'invalid') throw new AppError('invalid_link', { detail: 'reset token unknown, used or expired' });
  const user = await findUserById(deps.db, result.userId);
  if (user !== null) for (const subject of await lockoutSubjectsOf(deps.db, deps, user)) await deps.lockout.unlock(subject);
}
