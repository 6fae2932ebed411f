// Checks one second-factor proof inside the transaction that will open the session (or
// record the re-authentication), so that a code is taken exactly when the login it serves
// commits: a TOTP time step is claimed, a recovery code spent, by single guarded UPDATEs
// that one of any number of parallel attempts wins.
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { SecondFactorMethod } from './factors.ts';
import { spendRecoveryCode } from './recovery-codes.ts';
import { claimTotpStep, loadTotp } from './repo.ts';
import { matchTotp } from './totp.ts';

export type SecondFactorProof =
  | { readonly method: 'totp'; readonly code: string }
  | { readonly method: 'recovery_code'; readonly code: string }
  | { readonly method: 'passkey'; readonly response: unknown };

export type SecondFactorResult =
  | { readonly ok: true; readonly method: SecondFactorMethod; readonly amr: readonly string[] }
  | { readonly ok: false; readonly method: SecondFactorMethod; readonly reason: string };

/** Verifies a passkey assertion as a second factor of `userId` (passkeys feature, wired in services.ts). */
export type PasskeySecondFactor = (trx: DB, userId: string, response: unknown, expectedChallengeHash: string | null) => Promise<
  { readonly ok: true; readonly amr: 'hwk' | 'swk' } | { readonly ok: false; readonly reason: string }
>;

/** Assertion options limited to `userId`'s passkeys, and the hash of their challenge; null without passkeys. */
export type PasskeyAssertionOptions = (trx: DB, userId: string, now: Date) => Promise<{ readonly options: unknown; readonly challengeHash: string } | null>;

/** A passkey alone, re-authenticating `userId` (a discoverable-credential assertion with user verification). */
export type PasskeyReauthentication = (trx: DB, userId: string, response: unknown, now: Date) => Promise<
  { readonly ok: true; readonly amr: readonly string[] } | { readonly ok: false; readonly reason: string }
>;

export interface SecondFactorDeps {
  readonly keyring: Keyring;
  readonly passkeySecondFactor: PasskeySecondFactor;
}

export async function verifySecondFactor(
  trx: DB,
  deps: SecondFactorDeps,
  attempt: { readonly userId: string; readonly proof: SecondFactorProof; readonly now: Date; readonly passkeyChallengeHash: string | null },
): Promise<SecondFactorResult> {
  const { userId, proof, now } = attempt;
  switch (proof.method) {
    case 'totp': {
      const totp = await loadTotp(trx, deps.keyring, userId);
      if (totp === null || !totp.confirmed) return { ok: false, method: 'totp', reason: 'no confirmed totp' };
      const step = matchTotp(totp.secret, proof.code, now);
      if (step === null) return { ok: false, method: 'totp', reason: 'wrong code' };
      // A replay of an accepted code (or of an older one) claims nothing.
      if (!(await claimTotpStep(trx, userId, step))) return { ok: false, method: 'totp', reason: 'code already used' };
      return { ok: true, method: 'totp', amr: ['otp'] };
    }
    case 'recovery_code':
      // RFC 8176 has no value for recovery codes; they are one-time codes, so `otp`.
      return (await spendRecoveryCode(trx, userId, proof.code, now))
        ? { ok: true, method: 'recovery_code', amr: ['otp'] }
        : { ok: false, method: 'recovery_code', reason: 'unknown or used code' };
    case 'passkey': {
      const result = await deps.passkeySecondFactor(trx, userId, proof.response, attempt.passkeyChallengeHash);
      return result.ok ? { ok: true, method: 'passkey', amr: [result.amr] } : { ok: false, method: 'passkey', reason: result.reason };
    }
  }
}
