// Login. Unknown email and wrong password take the same path, the same time (one
// password hash either way) and the same answer. Attempts are reserved against the
// account's lockout counter before any password is evaluated, so parallel guessing
// cannot exceed the threshold.
import type { RequestContext } from '../../core/audit/auditor.ts';
import { AppError } from '../../core/errors.ts';
import { clientAddressKey } from '../../core/http/client-address.ts';
import { accountLockedMail } from '../mail/templates.ts';
import { createSession } from '../sessions/repo.ts';
import { findUserByEmailIndex, listRoles, loadEmail, setPasswordHash, type UserRecord } from '../users/repo.ts';
import type { AuthDeps } from './deps.ts';
import { issueTokenPair, type TokenPair } from './token-pair.ts';

export interface LoginInput {
  readonly email: string;
  readonly password: string;
}

function rateLimited(retryAfterSeconds: number, detail: string): AppError {
  return new AppError('rate_limited', { detail, headers: { 'retry-after': String(retryAfterSeconds) } });
}

async function checkPassword(deps: AuthDeps, user: UserRecord | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (user?.passwordHash === null || user === null) {
    await deps.passwords.dummyVerify(password);
    return { ok: false, needsRehash: false };
  }
  return deps.passwords.verify(user.passwordHash, password);
}

async function recordFailure(deps: AuthDeps, subject: string, user: UserRecord | null, context: RequestContext): Promise<void> {
  const lock = await deps.lockout.recordFailure(subject);
  await deps.db.transaction().execute(async (trx) => {
    await deps.audit.record(trx, context, {
      actor: user === null ? { type: 'anonymous' } : { type: 'user', id: user.id },
      action: 'auth.login_failed',
      ...(user === null ? {} : { target: { type: 'user', id: user.id } }),
      outcome: 'failure',
      details: { reason: user === null ? 'unknown_account' : 'wrong_password' },
    });
    if (lock.locked && user !== null) {
      await deps.audit.record(trx, context, {
        actor: { type: 'system' },
        action: 'auth.locked',
        target: { type: 'user', id: user.id },
        outcome: 'success',
        details: { locked_until: lock.lockedUntil?.toISOString() ?? null },
      });
    }
  });
  if (lock.locked && user !== null && lock.lockedUntil !== null) {
    const minutes = Math.ceil((lock.lockedUntil.getTime() - deps.clock().getTime()) / 60_000);
    const email = await loadEmail(deps.db, deps.keyring, user.id);
    if (email !== null) deps.mailer.enqueue(accountLockedMail(email, minutes));
  }
}

export async function login(deps: AuthDeps, input: LoginInput, context: RequestContext & { ip: string }): Promise<TokenPair & { sessionId: string }> {
  const subject = deps.blindIndex.email(input.email);
  const perAccount = await deps.limits.account.consume(`${clientAddressKey(context.ip)}|${subject}`);
  if (!perAccount.allowed) throw rateLimited(perAccount.retryAfterSeconds, 'per-address account limit');
  const reservation = await deps.lockout.reserveAttempt(subject);
  if (!reservation.allowed) throw rateLimited(reservation.retryAfterSeconds, 'account locked');

  const user = await findUserByEmailIndex(deps.db, subject);
  const check = await checkPassword(deps, user, input.password);
  if (!check.ok || user === null) {
    await recordFailure(deps, subject, user, context);
    throw new AppError('invalid_credentials', { detail: user === null ? 'unknown account' : 'wrong password' });
  }
  await deps.lockout.recordSuccess(subject);
  // Past this point the password was right, so saying why login cannot proceed is safe.
  if (user.status === 'disabled') throw new AppError('account_disabled');
  if (!user.emailVerified) throw new AppError('email_not_verified');
  if (check.needsRehash) await setPasswordHash(deps.db, user.id, await deps.passwords.hash(input.password), deps.clock());

  const now = deps.clock();
  const session = await deps.db.transaction().execute(async (trx) => {
    const created = await createSession(trx, deps.lifetimes, {
      userId: user.id,
      ip: context.ip,
      userAgent: context.userAgent,
      authMethod: 'password',
      now,
    });
    await deps.audit.record(trx, context, {
      actor: { type: 'user', id: user.id },
      action: 'auth.login_succeeded',
      target: { type: 'session', id: created.sessionId },
      outcome: 'success',
      details: { method: 'password' },
    });
    return created;
  });
  const roles = await listRoles(deps.db, user.id);
  return { ...(await issueTokenPair(deps, { userId: user.id, sessionId: session.sessionId, roles, refreshToken: session.refreshToken })), sessionId: session.sessionId };
}
