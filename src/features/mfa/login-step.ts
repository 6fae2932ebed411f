// The second step of a login: POST /v1/auth/mfa with the mfa_token of a correct password
// and one second-factor proof, or (for a client that knows the account has an
// authenticator app) the code sent with the password to POST /v1/auth/login. Guessing is
// bounded three ways: each mfa_token allows MFA_TOKEN_MAX_ATTEMPTS tries; every wrong
// proof counts toward the account's second-factor lockout (the same doubling as
// passwords, on a counter of its own, per known device when the password came with a
// device token), which every proof needs a correct password to reach; and the routes draw
// on the per-address budget. See docs/mfa.md for the resulting bound.
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Change } from '../../core/change.ts';
import { AppError } from '../../core/errors.ts';
import { openSession, recordFailedSecondFactor, reserveCredentialAttempt, tokensFor, type SignedIn } from '../auth/index.ts';
import { recoveryCodeUsedMail } from '../mail/index.ts';
import { findUserWithRolesById, loadEmail, type UserWithRoles } from '../users/index.ts';
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

export interface SecondFactorSignIn {
  /** An active account whose password was right in this login. */
  readonly user: UserWithRoles;
  /** What the user proved so far (`pwd`). */
  readonly amr: readonly string[];
  readonly proof: SecondFactorProof;
  /** The second-factor lockout counter this login draws on. */
  readonly counter: string;
  readonly deviceId: string | null;
  readonly passkeyChallengeHash: string | null;
  /** More to do in the transaction that opens the session (spending the mfa_token). */
  readonly alsoInChange?: (trx: Change['trx']) => Promise<void>;
}

/**
 * Checks the proof and opens the session in one transaction, so a code is taken exactly
 * when the login it serves commits; a wrong proof is counted, audited and answered 401.
 */
export async function signInWithSecondFactor(deps: MfaDeps, attempt: SecondFactorSignIn, context: RequestContext & { readonly ip: string }): Promise<SignedIn> {
  const { user } = attempt;
  await reserveCredentialAttempt(deps, attempt.counter);
  const now = deps.clock();
  try {
    const { session, signed } = await deps.change(context, async ({ trx, audit, enqueue }) => {
      const result = await verifySecondFactor(trx, deps, { userId: user.id, proof: attempt.proof, now, passkeyChallengeHash: attempt.passkeyChallengeHash });
      if (!result.ok) throw new SecondFactorRefused(result.method, result.reason);
      await attempt.alsoInChange?.(trx);
      if (result.method === 'recovery_code') await recordRecoveryCodeUse(deps, { trx, audit, enqueue }, user.id);
      const signed = { user, amr: [...attempt.amr, ...result.amr, 'mfa'], method: `password+${result.method}`, deviceId: attempt.deviceId };
      // The counter resets with the login it allowed, in the same commit.
      await deps.lockout.recordSuccess(attempt.counter, { trx });
      return { signed, session: await openSession(trx, audit, deps, signed, context) };
    });
    return await tokensFor(deps, signed, session);
  } catch (error) {
    if (!(error instanceof SecondFactorRefused)) throw error;
    await recordFailedSecondFactor(deps, { user, counter: attempt.counter, method: error.method, reason: error.reason }, context);
    throw new AppError('invalid_mfa_code', { detail: `${error.method}: ${error.reason}` });
  }
}

/** POST /v1/auth/mfa: the mfa_token of a correct password, and one proof. */
export async function completeMfaLogin(
  deps: MfaDeps,
  input: { readonly mfaToken: string; readonly proof: SecondFactorProof },
  context: RequestContext & { readonly ip: string },
): Promise<SignedIn> {
  const challenge = await countMfaAttempt(deps.db, input.mfaToken, deps.clock());
  if (challenge === null) throw invalidMfaToken('mfa token unknown, used, expired or out of attempts');
  const user = await findUserWithRolesById(deps.db, challenge.userId);
  if (user === null || user.status !== 'active') throw invalidMfaToken('account gone or disabled since the password step');
  // A reset forced after the password step (incident containment): that password is no
  // longer trusted. The password was correct, so saying so reveals nothing.
  if (user.passwordResetRequired && challenge.amr.includes('pwd')) throw new AppError('password_reset_required');
  return signInWithSecondFactor(
    deps,
    {
      user,
      amr: challenge.amr,
      proof: input.proof,
      counter: challenge.lockoutSubject,
      deviceId: challenge.deviceId,
      passkeyChallengeHash: challenge.webauthnChallengeHash,
      // The proof and the token are taken together or not at all: a parallel attempt that
      // spent the token first rolls this one back, its code or recovery code untouched.
      async alsoInChange(trx) {
        if (!(await spendMfaChallenge(trx, challenge.tokenHash, deps.clock()))) throw invalidMfaToken('mfa token spent by a parallel attempt');
      },
    },
    context,
  );
}
