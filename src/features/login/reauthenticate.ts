// POST /v1/auth/reauthenticate (step-up): the signed-in user proves who they are again,
// and the session's auth_time moves to now, without a new session or new tokens. The
// proof is what a login would need: the password, plus a TOTP or recovery code when the
// account has a second factor; or a passkey alone (user verification required, so it is
// multi-factor by itself). Wrong passwords and wrong second factors count toward the same
// lockouts as at login, so a stolen access token is no better an oracle here than the
// login route.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { recordFailedAttempt, recordFailedSecondFactor, reserveCredentialAttempt, sessionCounters, type AuthContext } from '../auth/index.ts';
import { enrolledFactors, hasSecondFactor, recordRecoveryCodeUse, verifySecondFactor, type MfaDeps, type SecondFactorProof, type SecondFactorResult } from '../mfa/index.ts';
import { recordReauthentication } from '../sessions/index.ts';
import { findUserWithRolesById, type UserWithRoles } from '../users/index.ts';
import type { LoginDeps } from './deps.ts';

export type ReauthenticateDeps = LoginDeps & Pick<MfaDeps, 'keyring' | 'mail' | 'passkeySecondFactor' | 'passkeyReauthentication'>;

export type ReauthenticateInput =
  | { readonly password: string; readonly proof?: Exclude<SecondFactorProof, { method: 'passkey' }> }
  | { readonly passkey: unknown };

async function checkPassword(deps: ReauthenticateDeps, user: UserWithRoles, attempt: { password: string; counter: string }, context: RequestContext): Promise<void> {
  if (user.passwordHash === null) throw new AppError('invalid_credentials', { detail: 'no password on the account' });
  await reserveCredentialAttempt(deps, attempt.counter);
  const check = await deps.passwords.verify(user.passwordHash, attempt.password);
  if (!check.ok) {
    await recordFailedAttempt(deps, user.emailIndex, user, context, { counter: attempt.counter });
    throw new AppError('invalid_credentials', { detail: 'wrong password' });
  }
  await deps.lockout.recordSuccess(attempt.counter);
}

export async function reauthenticate(
  deps: ReauthenticateDeps,
  auth: AuthContext,
  input: ReauthenticateInput,
  context: RequestContext,
): Promise<{ authTime: Date; amr: readonly string[] }> {
  const user = await findUserWithRolesById(deps.db, auth.userId);
  if (user === null) throw new AppError('unauthorized', { detail: 'account gone' });
  const now = deps.clock();
  const counters = sessionCounters({ emailIndex: user.emailIndex, userId: user.id }, auth.sessionId);
  let secondFactor: ((trx: Parameters<MfaDeps['passkeySecondFactor']>[0]) => Promise<SecondFactorResult>) | null = null;
  const amr: string[] = [];
  if ('passkey' in input) {
    secondFactor = async (trx) => {
      const verified = await deps.passkeyReauthentication(trx, user.id, input.passkey, now);
      return verified.ok ? { ok: true, method: 'passkey', amr: verified.amr } : { ok: false, method: 'passkey', reason: verified.reason };
    };
  } else {
    await checkPassword(deps, user, { password: input.password, counter: counters.password }, context);
    amr.push('pwd');
    const { proof } = input;
    if (proof !== undefined) secondFactor = (trx) => verifySecondFactor(trx, deps, { userId: user.id, proof, now, passkeyChallengeHash: null });
    else if (hasSecondFactor(await enrolledFactors(deps.db, user.id))) throw new AppError('invalid_mfa_code', { detail: 'second factor missing' });
  }
  const counter = counters.secondFactor;
  if (secondFactor !== null) await reserveCredentialAttempt(deps, counter);
  const outcome = await deps.change(context, async ({ trx, audit, enqueue }) => {
    if (secondFactor !== null) {
      const verified = await secondFactor(trx);
      if (!verified.ok) return verified;
      amr.push(...verified.amr, 'mfa');
      if (verified.method === 'recovery_code') await recordRecoveryCodeUse(deps, { trx, audit, enqueue }, user.id);
    }
    if (!(await recordReauthentication(trx, auth, amr, now))) throw new AppError('unauthorized', { detail: 'session ended meanwhile' });
    audit({ actor: { type: 'user', id: user.id }, action: 'auth.reauthenticated', target: { type: 'session', id: auth.sessionId }, outcome: 'success', details: { amr } });
    return null;
  });
  if (outcome !== null) {
    await recordFailedSecondFactor(deps, { user, counter, method: outcome.method, reason: outcome.reason }, context);
    throw new AppError('invalid_mfa_code', { detail: `${outcome.method}: ${outcome.reason}` });
  }
  if (secondFactor !== null) await deps.lockout.recordSuccess(counter);
  return { authTime: now, amr: [...new Set(amr)].sort() };
}
