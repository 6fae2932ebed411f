// The end of a login's first step for an account with a second factor: no session yet,
// an mfa_token instead (challenges.ts), with the methods the account can use and, when
// it has passkeys, the WebAuthn assertion options to sign. Reached only after a correct
// password, so nothing here says anything about an account to someone who lacks it.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { secondFactorCounter } from '../auth/index.ts';
import { createMfaChallenge, MFA_TOKEN_TTL_SECONDS } from './challenges.ts';
import type { MfaDeps } from './deps.ts';
import type { SecondFactorMethod } from './factors.ts';

export interface MfaRequired {
  readonly mfaToken: string;
  readonly methods: readonly SecondFactorMethod[];
  readonly expiresIn: number;
  /** PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get(), when `passkey` is a method. */
  readonly passkeyOptions: unknown;
}

export async function requireSecondFactor(
  deps: Pick<MfaDeps, 'change' | 'clock' | 'passkeyAssertionOptions'>,
  attempt: { readonly userId: string; readonly methods: readonly SecondFactorMethod[]; readonly amr: readonly string[]; readonly deviceId: string | null },
  context: RequestContext,
): Promise<MfaRequired> {
  const now = deps.clock();
  return deps.change(context, async ({ trx, audit }) => {
    const passkey = attempt.methods.includes('passkey') ? await deps.passkeyAssertionOptions(trx, attempt.userId, now) : null;
    const mfaToken = await createMfaChallenge(trx, {
      userId: attempt.userId,
      amr: attempt.amr,
      lockoutSubject: secondFactorCounter(attempt.userId, attempt.deviceId),
      deviceId: attempt.deviceId,
      webauthnChallengeHash: passkey?.challengeHash ?? null,
      now,
    });
    audit({
      actor: { type: 'user', id: attempt.userId },
      action: 'auth.mfa_challenged',
      target: { type: 'user', id: attempt.userId },
      outcome: 'success',
      details: { methods: [...attempt.methods], known_device: attempt.deviceId !== null },
    });
    return { mfaToken, methods: attempt.methods, expiresIn: MFA_TOKEN_TTL_SECONDS, passkeyOptions: passkey?.options ?? null };
  });
}
