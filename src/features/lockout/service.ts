// Per-account lockout, in the database so every instance shares it. The login flow:
//
//   const reservation = await lockout.reserveAttempt(subject);   // before any hashing
//   if (!reservation.allowed) -> 429 with Retry-After, no password evaluated
//   ok ? await lockout.recordSuccess(subject) : await lockout.recordFailure(subject)
//   a failure that returns `locked` -> mail the owner, audit `auth.locked`
//
// The subject is opaque: the caller passes the blind index of the normalized email,
// whether or not an account has that email. An address with no account is therefore
// counted, refused and locked exactly like one with an account, at the same points and
// for the same times, so neither the 429s nor their Retry-After reveal which accounts
// exist. The caller must keep it that way: reserve and record for unknown emails too.
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../core/clock.ts';
import type { Schema } from '../../core/db/schema.ts';
import { resolveLockoutPolicy, type LockoutPolicy, type LockoutPolicyOptions } from './policy.ts';
import { activeLocks, recordLoginFailure, recordLoginSuccess, reserveLoginAttempt, unlockLoginSubject } from './repo.ts';
import type { FailureOutcome, Reservation } from './types.ts';

export interface LockoutDeps extends LockoutPolicyOptions {
  readonly db: Kysely<Schema>;
  readonly clock: Clock;
}

export interface LockoutWriteOptions {
  /** Writes inside the caller's transaction, e.g. beside its audit record. */
  readonly trx?: Transaction<Schema>;
}

export interface Lockout {
  readonly policy: LockoutPolicy;
  /** Counts the attempt and says whether its password may be evaluated. Never in a transaction. */
  reserveAttempt(subject: string): Promise<Reservation>;
  recordFailure(subject: string, options?: LockoutWriteOptions): Promise<FailureOutcome>;
  recordSuccess(subject: string, options?: LockoutWriteOptions): Promise<void>;
  unlock(subject: string, options?: LockoutWriteOptions): Promise<void>;
  /** Which of `subjects` are locked now, and until when (an administrator's view of accounts). */
  activeLocks(subjects: readonly string[]): Promise<Map<string, Date>>;
}

function assertSubject(subject: string): void {
  if (subject === '' || subject.length > 256) throw new RangeError('a lockout subject must be 1 to 256 characters');
}

export function createLockout(deps: LockoutDeps): Lockout {
  const { db, clock } = deps;
  const policy = resolveLockoutPolicy(deps);
  return {
    policy,
    async reserveAttempt(subject) {
      assertSubject(subject);
      // Always on the service's own connection, outside any transaction: a rollback
      // after the password check must not hand the attempt back.
      return reserveLoginAttempt(db, subject, clock(), policy);
    },
    async recordFailure(subject, options = {}) {
      assertSubject(subject);
      return recordLoginFailure(options.trx ?? db, subject, clock(), policy);
    },
    async recordSuccess(subject, options = {}) {
      assertSubject(subject);
      await recordLoginSuccess(options.trx ?? db, subject, clock());
    },
    async unlock(subject, options = {}) {
      assertSubject(subject);
      await unlockLoginSubject(options.trx ?? db, subject, clock());
    },
    async activeLocks(subjects) {
      return activeLocks(db, subjects, clock());
    },
  };
}
