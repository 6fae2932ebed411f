// Every place that checks a password against an account takes the account's lockout
// reservation first, before the password is evaluated, and records a wrong password the
// same way: login and password change both go through here. (Their request budgets, per
// address and account, are declared on the routes: limits.ts. Lockout is not a budget
// but a rule about the account.)
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { AppError } from '../../core/errors.ts';
import type { Lockout } from '../lockout/index.ts';
import { accountLockedMail, type OutgoingMail } from '../mail/index.ts';
import { loadEmail, type UserRecord } from '../users/index.ts';

/** What recording a failed password attempt needs: the lockout, the change helper and the owner's mail. */
export interface CredentialAttemptDeps {
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly lockout: Lockout;
  readonly mail: OutgoingMail;
  readonly change: Changes;
}

/** Throws 429 unless a password attempt against `subject` (an email blind index) may proceed. */
export async function reserveCredentialAttempt(deps: { readonly lockout: Lockout }, subject: string): Promise<void> {
  const reservation = await deps.lockout.reserveAttempt(subject);
  if (!reservation.allowed) {
    throw new AppError('rate_limited', { detail: 'account locked', headers: { 'retry-after': String(reservation.retryAfterSeconds) } });
  }
}

// No account has this id: an unknown account's lock looks its address up too.
const NO_ACCOUNT = '00000000-0000-0000-0000-000000000000';

// Known and unknown accounts do the same work here (two audit records when a lock starts,
// one otherwise, and one address lookup); the owner's mail is a job sent after the
// response, so the attempt that starts a lock takes no longer for a real account.
export async function recordFailedAttempt(deps: CredentialAttemptDeps, subject: string, user: UserRecord | null, context: RequestContext): Promise<void> {
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
