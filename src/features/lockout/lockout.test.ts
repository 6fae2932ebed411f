import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { databasePerSuite, failAttempts, lockoutOn, manualClock, randomSubject } from './lockout.fixtures.ts';
import { resolveLockoutPolicy } from './policy.ts';
import { createLockout } from './service.ts';

const MINUTE = 60;
const HOUR = 60 * MINUTE;

for (const engine of testEngines()) {
  describe(`account lockout on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('allows threshold attempts and locks on the threshold-th failure, reporting it once', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      const outcomes = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: true });
        outcomes.push(await lockout.recordFailure(subject));
      }
      assert.deepEqual(outcomes.map((o) => o.locked), [false, false, false, false, true]);
      assert.deepEqual(outcomes[4]!.lockedUntil, new Date(time.clock().getTime() + 15 * MINUTE * 1000));
      assert.deepEqual(await lockout.recordFailure(subject), { locked: false, lockedUntil: null });
    });

    it('refuses while locked, with the time left as retryAfter, without counting', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 5);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 15 * MINUTE });
      time.advanceSeconds(10 * MINUTE + 0.5);
      for (let attempt = 0; attempt < 20; attempt++) {
        assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 5 * MINUTE });
      }
      time.advanceSeconds(5 * MINUTE - 1);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 1 });
    });

    it('releases when the lock ends, with a fresh window of threshold attempts', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 5);
      time.advanceSeconds(15 * MINUTE);
      const outcome = await failAttempts(lockout, subject, 5);
      assert.equal(outcome.locked, true);
      assert.equal((await lockout.reserveAttempt(subject)).allowed, false);
    });

    it('doubles each repeated lock, 15 min, 30, 60 and on, and caps it at 24 h', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      const durations = [];
      for (let lock = 0; lock < 10; lock++) {
        const start = time.clock().getTime();
        const outcome = await failAttempts(lockout, subject, 5);
        assert.equal(outcome.locked, true);
        const seconds = (outcome.lockedUntil!.getTime() - start) / 1000;
        assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: seconds });
        durations.push(seconds);
        time.advanceSeconds(seconds);
      }
      assert.deepEqual(durations, [15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR, 24 * HOUR, 24 * HOUR, 24 * HOUR]);
    });

    it('a success resets the count, its own reservation included', async () => {
      const { lockout } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 4);
      assert.equal((await lockout.reserveAttempt(subject)).allowed, true);
      await lockout.recordSuccess(subject);
      const outcome = await failAttempts(lockout, subject, 4);
      assert.equal(outcome.locked, false);
      assert.equal((await lockout.reserveAttempt(subject)).allowed, true);
    });

    it('a success resets the doubling, so the next lock is the base lock again', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 5);
      time.advanceSeconds(15 * MINUTE);
      await failAttempts(lockout, subject, 5);
      time.advanceSeconds(30 * MINUTE);
      await lockout.reserveAttempt(subject);
      await lockout.recordSuccess(subject);
      const start = time.clock().getTime();
      const outcome = await failAttempts(lockout, subject, 5);
      assert.deepEqual(outcome.lockedUntil, new Date(start + 15 * MINUTE * 1000));
    });

    it('unlock lifts the lock and clears the count at once', async () => {
      const { lockout } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 5);
      await lockout.unlock(subject);
      const outcome = await failAttempts(lockout, subject, 4);
      assert.equal(outcome.locked, false);
      assert.equal((await lockout.reserveAttempt(subject)).allowed, true);
    });

    it('unlock keeps the doubling, so an attack that goes on after it is locked for longer', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      await failAttempts(lockout, subject, 5);
      await lockout.unlock(subject);
      const start = time.clock().getTime();
      const outcome = await failAttempts(lockout, subject, 5);
      assert.deepEqual(outcome.lockedUntil, new Date(start + 30 * MINUTE * 1000));
    });

    it('activeLocks names the subjects locked now, with their ends: not a counting one, nor an ended or lifted lock', async () => {
      const { lockout, time } = lockoutOn(database());
      const [locked, counting, lifted, ended, untouched] = [randomSubject(), randomSubject(), randomSubject(), randomSubject(), randomSubject()];
      await failAttempts(lockout, ended, 5);
      time.advanceSeconds(MINUTE);
      const outcome = await failAttempts(lockout, locked, 5);
      await failAttempts(lockout, counting, 4);
      await failAttempts(lockout, lifted, 5);
      await lockout.unlock(lifted);
      time.advanceSeconds(15 * MINUTE - 30);
      const locks = await lockout.activeLocks([locked, counting, lifted, ended, untouched]);
      assert.deepEqual([...locks], [[locked, outcome.lockedUntil]]);
      assert.deepEqual(await lockout.activeLocks([]), new Map());
    });

    it('an outcome written in a transaction that rolls back leaves nothing behind', async () => {
      const { lockout } = lockoutOn(database());
      const subject = randomSubject();
      for (let attempt = 0; attempt < 5; attempt++) await lockout.reserveAttempt(subject);
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          assert.equal((await lockout.recordFailure(subject, { trx })).locked, true);
          throw new Error('the audit append failed');
        }),
        /audit append failed/,
      );
      assert.equal((await lockout.recordFailure(subject)).locked, true);
    });

    it('a failure with no reserved attempt behind it counts nothing', async () => {
      const { lockout } = lockoutOn(database());
      const subject = randomSubject();
      for (let call = 0; call < 10; call++) assert.deepEqual(await lockout.recordFailure(subject), { locked: false, lockedUntil: null });
      assert.equal((await failAttempts(lockout, subject, 4)).locked, false);
    });

    it('reserved attempts whose outcome never arrives are taken as failures once pendingSeconds pass', async () => {
      const time = manualClock();
      const lockout = createLockout({ db: database().db, clock: time.clock, pendingSeconds: 60 });
      const subject = randomSubject();
      for (let attempt = 0; attempt < 5; attempt++) assert.equal((await lockout.reserveAttempt(subject)).allowed, true);
      // Outcomes may still arrive: refuse, quoting the lock they would start.
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 15 * MINUTE });
      time.advanceSeconds(59);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 15 * MINUTE });
      time.advanceSeconds(1);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 15 * MINUTE });
      time.advanceSeconds(15 * MINUTE - 1);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 1 });
      time.advanceSeconds(1);
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: true });
      // A late outcome of the abandoned attempts finds nothing left to lock.
      assert.equal((await lockout.recordFailure(subject)).locked, false);
    });

    it('honours a custom policy', async () => {
      const time = manualClock();
      const lockout = createLockout({ db: database().db, clock: time.clock, threshold: 2, baseLockSeconds: 10, maxLockSeconds: 25 });
      const subject = randomSubject();
      const locks = [];
      for (let lock = 0; lock < 3; lock++) {
        const start = time.clock().getTime();
        const outcome = await failAttempts(lockout, subject, 2);
        locks.push((outcome.lockedUntil!.getTime() - start) / 1000);
        time.advanceSeconds(30);
      }
      assert.deepEqual(locks, [10, 20, 25]);
    });
  });
}

describe('lockout policy', () => {
  it('defaults to 5 attempts and 15 minutes doubling up to 24 hours', () => {
    assert.deepEqual(resolveLockoutPolicy({}), { threshold: 5, baseLockSeconds: 900, maxLockSeconds: 86_400, pendingSeconds: 60, doublingsToCap: 7 });
  });

  it('refuses settings that make no sense', () => {
    for (const options of [{ threshold: 0 }, { threshold: 2.5 }, { baseLockSeconds: -1 }, { maxLockSeconds: 60 }, { pendingSeconds: 0 }, { threshold: 2 ** 31 }]) {
      assert.throws(() => resolveLockoutPolicy(options), RangeError, JSON.stringify(options));
    }
  });

  it('refuses an empty or oversized subject', async () => {
    const lockout = createLockout({ db: undefined as never, clock: manualClock().clock });
    await assert.rejects(lockout.reserveAttempt(''), RangeError);
    await assert.rejects(lockout.recordFailure('x'.repeat(257)), RangeError);
  });
});
