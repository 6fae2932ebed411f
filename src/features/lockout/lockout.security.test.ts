// Attacks on the account lockout, each test named after the one it blocks.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Database } from '../../core/db/database.ts';
import { databasePerSuite, lockoutOn, randomSubject } from './lockout.fixtures.ts';
import type { Lockout } from './service.ts';

async function registerAccount(database: Database, emailIndex: string, at: Date): Promise<void> {
  await database.db
    .insertInto('users')
    .values({ id: randomUUID(), email_index: emailIndex, email_ciphertext: 'opaque', password_hash: 'opaque', created_at: at, updated_at: at })
    .execute();
}

/** What an attacker observes from a scripted run of guesses, waits and lock expiries. */
async function observe(lockout: Lockout, subject: string, advanceSeconds: (seconds: number) => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let round = 0; round < 3; round++) {
    for (let guess = 0; guess < 7; guess++) {
      const reservation = await lockout.reserveAttempt(subject);
      seen.push(reservation);
      if (reservation.allowed) seen.push(await lockout.recordFailure(subject));
    }
    advanceSeconds(3600);
  }
  return seen;
}

for (const engine of testEngines()) {
  describe(`account lockout attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('a parallel burst of 50 wrong guesses evaluates no more passwords than the threshold allows', async () => {
      const { lockout } = lockoutOn(database());
      const subject = randomSubject();
      const reservations = await Promise.all(Array.from({ length: 50 }, () => lockout.reserveAttempt(subject)));
      assert.equal(reservations.filter((r) => r.allowed).length, lockout.policy.threshold);
      // The allowed guesses all fail, in parallel too: the owner hears of one lock, once.
      const failures = await Promise.all(Array.from({ length: lockout.policy.threshold }, () => lockout.recordFailure(subject)));
      assert.equal(failures.filter((f) => f.locked).length, 1);
      const after = await Promise.all(Array.from({ length: 50 }, () => lockout.reserveAttempt(subject)));
      assert.equal(after.filter((r) => r.allowed).length, 0);
    });

    it('a burst on a locked account cannot count towards, or shorten, the next lock', async () => {
      const { lockout, time } = lockoutOn(database());
      const subject = randomSubject();
      for (let attempt = 0; attempt < 5; attempt++) {
        await lockout.reserveAttempt(subject);
        await lockout.recordFailure(subject);
      }
      await Promise.all(Array.from({ length: 50 }, () => lockout.reserveAttempt(subject)));
      await Promise.all(Array.from({ length: 20 }, () => lockout.recordFailure(subject)));
      assert.deepEqual(await lockout.reserveAttempt(subject), { allowed: false, retryAfterSeconds: 900 });
      time.advanceSeconds(900);
      const allowed = [];
      for (let attempt = 0; attempt < 6; attempt++) allowed.push((await lockout.reserveAttempt(subject)).allowed);
      assert.deepEqual(allowed, [true, true, true, true, true, false]);
    });

    it('lockout does not reveal which emails have an account: an unknown one is counted and locked the same', async () => {
      const registered = randomSubject();
      const unknown = randomSubject();
      const setup = lockoutOn(database());
      await registerAccount(database(), registered, setup.time.clock());
      const first = lockoutOn(database());
      const second = lockoutOn(database());
      const seenRegistered = await observe(first.lockout, registered, (s) => { first.time.advanceSeconds(s); });
      const seenUnknown = await observe(second.lockout, unknown, (s) => { second.time.advanceSeconds(s); });
      assert.deepEqual(seenUnknown, seenRegistered);
      assert.ok(seenRegistered.some((seen) => typeof seen === 'object' && seen !== null && 'locked' in seen && seen.locked === true));
    });
  });
}
