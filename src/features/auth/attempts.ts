// Every place that checks a password against an account takes the account's lockout
// reservation first, before the password is evaluated, and records a wrong password the
// same way: login and password change both go through here. (Their request budgets, per
// address and account, are declared on the routes: limits.ts. Lockout is not a budget
// but a rule about the account.)
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import type { Lockout } from '../lockout/index.ts';
import { accountLockedMail, secondFactorLockedMail, type OutgoingMail } from '../mail/index.ts';
import { findUserByEmailIndex, loadEmail, type UserRecord } from '../users/index.ts';
import type { AccountJobs, LockNoticeJob } from './account-jobs.ts';

/** What recording a failed password attempt needs: the lockout, the change helper and the lock-notice job. */
export interface CredentialAttemptDeps {
  readonly lockout: Lockout;
  readonly change: Changes;
  readonly accountJobs: Pick<AccountJobs, 'lockNotice'>;
}

/** Throws 429 unless a password attempt against `subject` (an email blind index) may proceed. */
export async function reserveCredentialAttempt(deps: { readonly lockout: Lockout }, subject: string): Promise<void> {
  const reservation = await deps.lockout.reserveAttempt(subject);
  if (!reservation.allowed) {
    throw new AppError('rate_limited', { detail: 'account locked', headers: { 'retry-after': String(reservation.retryAfterSeconds) } });
  }
}

// Known and unknown accounts do the same statements here: one audit record, or two and the
// lock-notice job when a lock starts. The job looks the account up after the response
// and mails its owner (lockNotice below), so nothing about this answer, its timing, or a
// full queue's 503 depends on whether the account exists. `counter` is the lockout
// counter the attempt drew on: the account's (`subject`) unless a device token made it
// that device's (device-tokens.ts). While a blind-index rotation moves rows, login
// counts under both of the address's indexes (`alsoCounters`): the attempt locks if
// either counter does.
export async function recordFailedAttempt(
  deps: CredentialAttemptDeps,
  subject: string,
  user: UserRecord | null,
  context: RequestContext,
  options: { readonly counter?: string; readonly alsoCounters?: readonly string[] } = {},
): Promise<void> {
  const counter = options.counter ?? subject;
  let lock = await deps.lockout.recordFailure(counter);
  for (const other of options.alsoCounters ?? []) {
    const outcome = await deps.lockout.recordFailure(other);
    if (!lock.locked) lock = outcome;
  }
  const target = user === null ? {} : { target: { type: 'user', id: user.id } };
  await deps.change(context, ({ audit, enqueue }) => {
    audit({
      actor: user === null ? { type: 'anonymous' } : { type: 'user', id: user.id },
      action: 'auth.login_failed',
      ...target,
      outcome: 'failure',
      details: { reason: user === null ? 'unknown_account' : 'wrong_password', known_device: counter !== subject },
    });
    if (lock.locked && lock.lockedUntil !== null) {
      audit({
        actor: { type: 'system' },
        action: 'auth.locked',
        ...target,
        outcome: 'success',
        details: { locked_until: lock.lockedUntil.toISOString() },
      });
      // The account's stored index: during a rotation it may be the retiring key's.
      enqueue(deps.accountJobs.lockNotice.job({ subject: user?.emailIndex ?? subject, lockedUntil: lock.lockedUntil.toISOString(), context }));
    }
    return Promise.resolve();
  });
}

/**
 * A wrong second factor (after a right password): counted on the account's second-factor
 * lockout counter, audited, and when it locks, the owner is told that their password is
 * known to someone.
 */
export async function recordFailedSecondFactor(
  deps: CredentialAttemptDeps,
  attempt: { readonly user: { readonly id: string; readonly emailIndex: string }; readonly counter: string; readonly method: string; readonly reason?: string },
  context: RequestContext,
): Promise<void> {
  const lock = await deps.lockout.recordFailure(attempt.counter);
  const target = { type: 'user', id: attempt.user.id };
  await deps.change(context, ({ audit, enqueue }) => {
    audit({ actor: { type: 'user', id: attempt.user.id }, action: 'auth.mfa_failed', target, outcome: 'failure', details: { method: attempt.method, reason: attempt.reason ?? 'unknown' } });
    // A valid signature whose counter did not rise: a cloned authenticator, or a replayed assertion.
    if (attempt.reason === 'counter_regression') {
      audit({ actor: { type: 'anonymous' }, action: 'passkey.counter_regression', target, outcome: 'denied', details: { ceremony: 'second_factor' } });
    }
    if (lock.locked && lock.lockedUntil !== null) {
      audit({ actor: { type: 'system' }, action: 'auth.mfa_locked', target, outcome: 'success', details: { locked_until: lock.lockedUntil.toISOString() } });
      enqueue(deps.accountJobs.lockNotice.job({ subject: attempt.user.emailIndex, lockedUntil: lock.lockedUntil.toISOString(), context, step: 'second_factor' }));
    }
    return Promise.resolve();
  });
}

/** What the lock-notice job needs. */
export interface LockNoticeDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly mail: OutgoingMail;
  readonly change: Changes;
}

/** The lock-notice job: tells the owner of an enabled account, at their stored address. */
export async function sendLockNotice(deps: LockNoticeDeps, job: LockNoticeJob): Promise<void> {
  const user = await findUserByEmailIndex(deps.db, job.subject);
  if (user === null || user.status === 'disabled') return;
  const minutes = Math.max(1, Math.ceil((Date.parse(job.lockedUntil) - deps.clock().getTime()) / 60_000));
  await deps.change(job.context, async ({ trx, enqueue }) => {
    const email = await loadEmail(trx, deps.keyring, user.id);
    if (email === null) return;
    const message = job.step === 'second_factor' ? secondFactorLockedMail(email, minutes) : accountLockedMail(email, minutes);
    enqueue(deps.mail.job(message, { userId: user.id }));
  });
}
