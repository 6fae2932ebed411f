// Passkeys as the MFA flow uses them (mfa/second-factor.ts): a second step's assertion
// options and verification, and a passkey alone re-authenticating the signed-in user.
// Adapters only: the ceremonies are service.ts's.
import type { PasskeyAssertionOptions, PasskeyReauthentication, PasskeySecondFactor } from '../mfa/index.ts';
import type { Passkeys } from './service.ts';

export function passkeyFactors(passkeys: Passkeys): {
  passkeySecondFactor: PasskeySecondFactor;
  passkeyAssertionOptions: PasskeyAssertionOptions;
  passkeyReauthentication: PasskeyReauthentication;
} {
  return {
    async passkeySecondFactor(trx, userId, response, challengeHash) {
      const result = await passkeys.verifySecondFactor(trx, { userId, response, challengeHash });
      return result.ok ? { ok: true, amr: result.amr } : { ok: false, reason: result.reason };
    },
    // The challenge row is written through the login's transaction (core/db/transaction-scope.ts).
    passkeyAssertionOptions: (_trx, userId) => passkeys.secondFactorOptions(userId),
    async passkeyReauthentication(trx, userId, response) {
      const result = await passkeys.verifyReauthentication(trx, { userId, response });
      return result.ok ? { ok: true, amr: [result.amr] } : { ok: false, reason: result.reason };
    },
  };
}
