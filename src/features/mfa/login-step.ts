// The second step of a login: POST /v1/auth/mfa with the mfa_token of a correct password
// and one second-factor proof. Guessing is bounded three ways: each mfa_token allows
// MFA_TOKEN_MAX_ATTEMPTS tries; every wrong proof counts toward the account's
// second-factor lockout (the same doubling as passwords, on a counter of its own, per
// known device when the password came with a device token); and the route draws on the
// per-address budget. See docs/mfa.md for the resulting bound.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Change } from '../../core/change.ts';
import { AppError } from '../../core/errors.ts';
import { openSession, recordFailedSecondFactor, reserveCredentialAttempt, tokensFor, type SignedIn } from '../auth/index.ts';
import { recoveryCodeUsedMail } from '../mail/index.ts';
import { findUserWithRolesById, loadEmail } from '../users/index.ts';
import { countMfaAttempt, spendMfaChallenge } from './challenges.ts';
import type { MfaDeps } from './deps.ts';
import { countUnusedRecoveryCodes } from './recovery-codes.ts';
import { verifySecondFactor, type SecondFactorProof } from './second-factor.ts';

/** A wrong proof: rolls the attempt's transaction back, then is counted and audited. */
class SecondFactorRefused extends Error {
  readonly method: string;
  readonly reason: string;
  constructor(method: string, reason: string) {
    super('second factor refused');
    this.method = method;
    this.reason = reason;
  }
}

/** A spent recovery code is audited and mailed to the owner, with the count left (in the change that spent it). */
export async function recordRecoveryCodeUse(deps: Pick<MfaDeps, 'keyring' | 'mail'>, change: Pick<Change, 'trx' | 'audit' | 'enqueue'>, userId: string): Promise<void> {
  const remaining = await countUnusedRecoveryCodes(change.trx, userId);
  change.audit({ actor: { type: 'user', id: userId }, action: 'mfa.recovery_code_used', target: { type: 'user', id: userId }, outcome: 'success', details: { remaining } });
  const email = await loadEmail(change.trx, deps.keyring, userId);
  if (email !== null) change.enqueue(deps.mail.job(recoveryCodeUsedMail(email, remaining), { userId, essential: true }));
}

function invalidMfaToken(detail: string): AppError {
  return new AppError('invalid_token', { detail });
}

export async function completeMfaLogin(
  deps: MfaDeps,
  input: { readonly mfaToken: string; readonly proof: SecondFactorProof },
  context: RequestContext & { readonly ip: string },
): Promise<SignedIn> {
  const now = deps.clock();
  const challenge = await countMfaAttempt(deps.db, input.mfaToken, now);
  if (challenge === null) throw invalidMfaToken('mfa token unknown, used, expired or out of attempts');
  await reserveCredentialAttempt(deps, challenge.lockoutSubject);
  const user = await findUserWithRolesById(deps.db, challenge.userId);
  if (user === null || user.status !== 'active') throw invalidMfaToken('account gone or disabled since the password step');
  const signIn = (method: string, amr: readonly string[]) => ({ user, amr: [...challenge.amr, ...amr, 'mfa'], method: `password+${method}`, deviceId: challenge.deviceId });
  try {
    const { session, signed } = await deps.change(context, async ({ trx, audit, enqueue }) => {
      const result = await verifySecondFactor(trx, deps, { userId: user.id, proof: input.proof, now, passkeyChallengeHash: challenge.webauthnChallengeHash });
      if (!result.ok) throw new SecondFactorRefused(result.method, result.reason);
      // The proof and the token are taken together or not at all: a parallel attempt that
      // spent the token first rolls this one back, its code or recovery code untouched.
      if (!(await spendMfaChallenge(trx, challenge.tokenHash, now))) throw invalidMfaToken('mfa token spent by a parallel attempt');
      if (result.method === 'recovery_code') await recordRecoveryCodeUse(deps, { trx, audit, enqueue }, user.id);
      const signed = signIn(result.method, result.amr);
      return { signed, session: await openSession(trx, audit, deps, signed, context) };
    });
    await deps.lockout.recordSuccess(challenge.lockoutSubject);
    return await tokensFor(deps, signed, session);
  } catch (error) {
    if (!(error instanceof SecondFactorRefused)) throw error;
    await recordFailedSecondFactor(deps, { user, counter: challenge.lockoutSubject, method: error.method, reason: error.reason }, context);
    throw new AppError('invalid_mfa_code', { detail: `${error.method}: ${error.reason}` });
  }
}
