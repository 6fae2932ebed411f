// Login. Unknown email and wrong password take the same path, the same time (one
// password hash either way) and the same answer. Attempts are reserved against the
// account's lockout counter before any password is evaluated, so parallel guessing
// cannot exceed the threshold. With a valid device token the counter is that device's
// for the account (auth/device-tokens.ts): a stranger's flood locks anonymous attempts,
// not the owner's known device. Only after a correct password does the answer depend on
// the account: its status, a forced password reset, maintenance mode (features/incident),
// then either tokens or, with a second factor, an mfa_token.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { maintenanceError, passwordCounter, recordFailedAttempt, reserveCredentialAttempt, secondFactorCounter, signIn, type SignedIn } from '../auth/index.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import { enrolledFactors, requireSecondFactor, secondFactorMethods, signInWithSecondFactor, type MfaRequired, type SecondFactorProof } from '../mfa/index.ts';
import { findUserWithRolesByEmailIndex, setPasswordHash, type UserRecord } from '../users/index.ts';
import type { LoginDeps } from './deps.ts';

export interface LoginInput {
  readonly email: string;
  readonly password: string;
  readonly deviceToken?: string;
  /**
   * A TOTP or recovery code sent with the password, by a client that knows the account has
   * one: the login completes in one request. Looked at only after a correct password, and
   * ignored for an account without a second factor.
   */
  readonly proof?: Exclude<SecondFactorProof, { method: 'passkey' }>;
}

export type LoginResult = ({ readonly kind: 'signed_in' } & SignedIn) | ({ readonly kind: 'mfa_required' } & MfaRequired);

async function checkPassword(deps: LoginDeps, user: UserRecord | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (user?.passwordHash === null || user === null) {
    await deps.passwords.dummyVerify(password);
    return { ok: false, needsRehash: false };
  }
  return deps.passwords.verify(user.passwordHash, password);
}

export async function login(deps: LoginDeps, input: LoginInput, context: RequestContext & { ip: string }): Promise<LoginResult> {
  const subject = deps.blindIndex.email(input.email);
  const deviceId = deps.deviceTokens.verify(input.deviceToken, subject, deps.clock());
  const counter = passwordCounter(subject, deviceId);
  await reserveCredentialAttempt(deps, counter);

  // The roles come with the row, for the access token: no second query after the password.
  const user = await findUserWithRolesByEmailIndex(deps.db, subject);
  const check = await checkPassword(deps, user, input.password);
  if (!check.ok || user === null) {
    await recordFailedAttempt(deps, subject, user, context, { counter });
    throw new AppError('invalid_credentials', { detail: user === null ? 'unknown account' : 'wrong password' });
  }
  await deps.lockout.recordSuccess(counter);
  // Past this point the password was right, so saying why login cannot proceed is safe.
  if (user.status === 'disabled') throw new AppError('account_disabled');
  if (!user.emailVerified) throw new AppError('email_not_verified');
  // An operator no longer trusts this password (`gatehouse incident force-password-reset`):
  // it was right, but only the mailed reset link lets this account in again.
  if (user.passwordResetRequired) throw new AppError('password_reset_required');
  if (check.needsRehash) await setPasswordHash(deps.db, user.id, await deps.passwords.hash(input.password), deps.clock());

  const methods = secondFactorMethods(await enrolledFactors(deps.db, user.id));
  // Maintenance: refused before any second step is offered to an account that could not
  // finish it; openSession checks again whatever the path (auth/sign-in.ts).
  if ((await deps.incidentFlags.maintenance()) && !(user.roles.includes(ADMIN_ROLE) && methods.length > 0)) throw maintenanceError();
  if (methods.length > 0 && input.proof !== undefined) {
    const counter = secondFactorCounter(user.id, deviceId);
    return { kind: 'signed_in', ...(await signInWithSecondFactor(deps, { user, amr: ['pwd'], proof: input.proof, counter, deviceId, passkeyChallengeHash: null }, context)) };
  }
  if (methods.length > 0) {
    return { kind: 'mfa_required', ...(await requireSecondFactor(deps, { userId: user.id, methods, amr: ['pwd'], deviceId }, context)) };
  }
  return { kind: 'signed_in', ...(await signIn(deps, { user, amr: ['pwd'], method: 'password', deviceId }, context)) };
}
