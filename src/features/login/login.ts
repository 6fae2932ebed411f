// Login. Unknown email and wrong password take the same path, the same time (one
// password hash either way) and the same answer. Attempts are reserved against the
// account's lockout counter before any password is evaluated, so parallel guessing
// cannot exceed the threshold.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { issueTokenPair, recordFailedAttempt, reserveCredentialAttempt, type TokenPair } from '../auth/index.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import { createSession } from '../sessions/index.ts';
import { findUserWithRolesByEmailIndex, setPasswordHash, type UserRecord } from '../users/index.ts';
import type { LoginDeps } from './deps.ts';

export interface LoginInput {
  readonly email: string;
  readonly password: string;
}

async function checkPassword(deps: LoginDeps, user: UserRecord | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (user?.passwordHash === null || user === null) {
    await deps.passwords.dummyVerify(password);
    return { ok: false, needsRehash: false };
  }
  return deps.passwords.verify(user.passwordHash, password);
}

export async function login(deps: LoginDeps, input: LoginInput, context: RequestContext & { ip: string }): Promise<TokenPair & { sessionId: string }> {
  const subject = deps.blindIndex.email(input.email);
  await reserveCredentialAttempt(deps, subject);

  // The roles come with the row, for the access token: no second query after the password.
  const user = await findUserWithRolesByEmailIndex(deps.db, subject);
  const check = await checkPassword(deps, user, input.password);
  if (!check.ok || user === null) {
    await recordFailedAttempt(deps, subject, user, context);
    throw new AppError('invalid_credentials', { detail: user === null ? 'unknown account' : 'wrong password' });
  }
  await deps.lockout.recordSuccess(subject);
  // Past this point the password was right, so saying why login cannot proceed is safe.
  if (user.status === 'disabled') throw new AppError('account_disabled');
  if (!user.emailVerified) throw new AppError('email_not_verified');
  if (check.needsRehash) await setPasswordHash(deps.db, user.id, await deps.passwords.hash(input.password), deps.clock());

  const now = deps.clock();
  const session = await deps.change(context, async ({ trx, audit }) => {
    const created = await createSession(trx, deps.lifetimes, {
      userId: user.id,
      ip: context.ip,
      userAgent: context.userAgent,
      authMethod: 'password',
      now,
    });
    audit({
      actor: { type: 'user', id: user.id },
      action: 'auth.login_succeeded',
      target: { type: 'session', id: created.sessionId },
      outcome: 'success',
      // An admin's login is a security event of its own (webhooks send it).
      details: { method: 'password', admin: user.roles.includes(ADMIN_ROLE) },
    });
    return created;
  });
  return { ...(await issueTokenPair(deps, { userId: user.id, sessionId: session.sessionId, roles: user.roles, refreshToken: session.refreshToken })), sessionId: session.sessionId };
}
