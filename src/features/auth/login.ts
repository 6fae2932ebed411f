// Login. Unknown email and wrong password take the same path, the same time (one
// password hash either way) and the same answer. Attempts are reserved against the
// account's lockout counter before any password is evaluated, so parallel guessing
// cannot exceed the threshold.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { accountLockedMail } from '../mail/index.ts';
import { createSession } from '../sessions/index.ts';
import { findUserWithRolesByEmailIndex, loadEmail, setPasswordHash, type UserRecord } from '../users/index.ts';
import { reserveCredentialAttempt } from './attempts.ts';
import { ADMIN_ROLE } from '../authorization/index.ts';
import type { AuthDeps } from './deps.ts';
import { issueTokenPair, type TokenPair } from './token-pair.ts';

export interface LoginInput {
  readonly email: string;
  readonly password: string;
}

async function checkPassword(deps: AuthDeps, user: UserRecord | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (user?.passwordHash === null || user === null) {
    await deps.passwords.dummyVerify(password);
    return { ok: false, needsRehash: false };
  }
  return deps.passwords.verify(user.passwordHash, password);
}

// No account has this id: an unknown account's lock looks its address up too.
const NO_ACCOUNT = '00000000-0000-0000-0000-000000000000';

// Known and unknown accounts do the same work here (two audit records when a lock starts,
// one otherwise, and one address lookup); the owner's mail is a job sent after the
// response, so the attempt that starts a lock takes no longer for a real account.
export async function recordFailedAttempt(deps: AuthDeps, subject: string, user: UserRecord | null, context: RequestContext): Promise<void> {
  const lock = await deps.lockout.recordFailure(subject);
  const target = user === null ? {} : { target: { type: 'user', id: user.id } };
  await deps.change(context, async ({ trx, audit, enqueue }) => {
    audit({
      actor: user === null ? { type: 'anonymous' } : { type: 'user', id: user.id },
      action: 'auth.login_failed',
      ...target,
      outcome: 'failure',
      details: { reason: user === null ? 'unknown_account' : 'wrong_password' },
    });
    if (!lock.locked) return;
    audit({
      actor: { type: 'system' },
      action: 'auth.locked',
      ...target,
      outcome: 'success',
      details: { locked_until: lock.lockedUntil?.toISOString() ?? null },
    });
    const email = await loadEmail(trx, deps.keyring, user?.id ?? NO_ACCOUNT);
    if (user === null || email === null || lock.lockedUntil === null) return;
    const minutes = Math.ceil((lock.lockedUntil.getTime() - deps.clock().getTime()) / 60_000);
    enqueue(deps.mail.job(accountLockedMail(email, minutes), { userId: user.id }));
  });
}

export async function login(deps: AuthDeps, input: LoginInput, context: RequestContext & { ip: string }): Promise<TokenPair & { sessionId: string }> {
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
