// Passwordless login with a discoverable passkey: POST /v1/auth/passkey/options, then
// POST /v1/auth/passkey with the browser's assertion. User verification is required, so
// the passkey is two factors by itself (something held, and the PIN or biometric that
// unlocks it): the session's amr is `hwk` or `swk` with `mfa`. Every failure is the same
// 401 to the client; the reason is audited, and a counter regression (a cloned
// authenticator) is a security event of its own.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { openSession, tokensFor, type SignedIn } from '../auth/index.ts';
import { findUserWithRolesById } from '../users/index.ts';
import type { PasskeyRouteDeps } from './deps.ts';

export async function passwordlessLogin(
  deps: PasskeyRouteDeps,
  input: { readonly response: unknown; readonly deviceToken?: string },
  context: RequestContext & { readonly ip: string },
): Promise<SignedIn> {
  const outcome = await deps.change(context, async ({ trx, audit }) => {
    const result = await deps.passkeys.verifyPasswordless(trx, { response: input.response });
    if (!result.ok) {
      const target = 'userId' in result ? { target: { type: 'user', id: result.userId } } : {};
      audit({ actor: { type: 'anonymous' }, action: 'auth.login_failed', ...target, outcome: 'failure', details: { method: 'passkey', reason: result.reason } });
      if (result.reason === 'counter_regression') {
        audit({ actor: { type: 'anonymous' }, action: 'passkey.counter_regression', ...target, outcome: 'denied', details: { ceremony: 'passwordless' } });
      }
      return { ok: false as const, reason: result.reason };
    }
    const user = await findUserWithRolesById(trx, result.userId);
    if (user === null || user.status !== 'active' || !user.emailVerified) return { ok: false as const, reason: 'account not active' };
    const deviceId = input.deviceToken === undefined ? null : deps.deviceTokens.verify(input.deviceToken, user.emailIndex, deps.clock());
    const signIn = { user, amr: [result.amr, 'mfa'], method: 'passkey', deviceId };
    return { ok: true as const, signIn, session: await openSession(trx, audit, deps, signIn, context) };
  });
  if (!outcome.ok) throw new AppError('invalid_credentials', { detail: `passkey login refused: ${outcome.reason}` });
  return tokensFor(deps, outcome.signIn, outcome.session);
}
