// Shared by the lockout tests: one migrated database per engine and suite, a fresh
// random subject per test so tests never see each other's rows, and a hand-moved clock.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { Database } from '../../core/db/database.ts';
import { createLockout, type Lockout } from './service.ts';
import type { FailureOutcome } from './types.ts';

export interface ManualClock {
  readonly clock: Clock;
  advanceSeconds(seconds: number): void;
}

export function manualClock(start = Date.UTC(2030, 0, 2, 3, 4, 5)): ManualClock {
  let now = start;
  return {
    clock: () => new Date(now),
    advanceSeconds(seconds: number): void {
      now += seconds * 1000;
    },
  };
}

export { databasePerSuite } from '../../../test/helpers/database.ts';

/** Looks like the blind index of an email: 32 random bytes, base64url. */
export function randomSubject(): string {
  return randomBytes(32).toString('base64url');
}

export interface LockoutUnderTest {
  readonly lockout: Lockout;
  readonly time: ManualClock;
}

/** The default policy: 5 attempts, 15 minutes doubling to 24 hours. */
export function lockoutOn(database: Database): LockoutUnderTest {
  const time = manualClock();
  return { lockout: createLockout({ db: database.db, clock: time.clock }), time };
}

/** Reserves and fails `count` attempts one after another; returns the last failure's outcome. */
export async function failAttempts(lockout: Lockout, subject: string, count: number): Promise<FailureOutcome> {
  let outcome: FailureOutcome = { locked: false, lockedUntil: null };
  for (let attempt = 0; attempt < count; attempt++) {
    const reservation = await lockout.reserveAttempt(subject);
    if (!reservation.allowed) throw new Error(`attempt ${attempt + 1} was refused`);
    outcome = await lockout.recordFailure(subject);
  }
  return outcome;
}
