// The login_failures statements. Each is one SQL statement, so it is atomic on its own
// under concurrent logins from any number of instances; each takes the database or a
// transaction first.
//
// A row moves through three states:
//   counting  unlocked, failures < threshold: a reservation counts itself and is allowed;
//   spent     unlocked, failures >= threshold: every reserved attempt is still out; new
//             ones are refused until an outcome arrives (a failure locks, a success
//             resets) or, if none arrives within pendingSeconds, the next one locks;
//   locked    locked_until > now, failures = 0: everything is refused and nothing counts.
// No row is the same as a counting row with zero failures.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Schema } from '../../core/db/schema.ts';
import type { LockoutPolicy } from './policy.ts';
import type { FailureOutcome, Reservation } from './types.ts';

interface ReservationRow {
  failures: number;
  locked_until: Date | null;
  next_lock_seconds: number;
}

// min(base * 2^lock_count, max), for the row aliased `f`. Inside SET it reads the old
// lock_count, so the first lock lasts `base`; the exponent is bounded so it never
// overflows however many locks a subject collects.
function lockSeconds(policy: LockoutPolicy): RawBuilder<number> {
  return sql<number>`least(${policy.baseLockSeconds}::float8 * power(2::float8, least(f.lock_count, ${policy.doublingsToCap}::int)::float8), ${policy.maxLockSeconds}::float8)`;
}

function lockEnd(now: Date, policy: LockoutPolicy): RawBuilder<Date> {
  return sql<Date>`${now}::timestamptz + make_interval(secs => ${lockSeconds(policy)})`;
}

function unlockedAt(now: Date): RawBuilder<boolean> {
  return sql<boolean>`(f.locked_until IS NULL OR f.locked_until <= ${now}::timestamptz)`;
}

function secondsUntil(end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000));
}

function toReservation(row: ReservationRow, now: Date, policy: LockoutPolicy): Reservation {
  if (row.locked_until !== null && row.locked_until > now) return { allowed: false, retryAfterSeconds: secondsUntil(row.locked_until, now) };
  // Spent: the outcomes still out will most likely start this lock.
  if (row.failures > policy.threshold) return { allowed: false, retryAfterSeconds: Math.ceil(row.next_lock_seconds) };
  return { allowed: true };
}

/**
 * Counts an attempt before its password is evaluated, and says whether to evaluate it.
 * The count and the check are one statement, so a parallel burst cannot slip between
 * them: however many arrive at once, at most `threshold` are allowed. Must not run in a
 * transaction that could roll back: the count has to stand whatever happens after.
 */
export async function reserveLoginAttempt(db: Kysely<Schema>, subject: string, now: Date, policy: LockoutPolicy): Promise<Reservation> {
  const unlocked = unlockedAt(now);
  const budgetLeft = sql<boolean>`f.failures < ${policy.threshold}::int`;
  const overdue = sql<boolean>`f.updated_at <= ${new Date(now.getTime() - policy.pendingSeconds * 1000)}::timestamptz`;
  const lockNow = sql<boolean>`(${unlocked} AND NOT ${budgetLeft} AND ${overdue})`;
  const result = await sql<ReservationRow>`
    INSERT INTO login_failures AS f (subject, failures, lock_count, locked_until, updated_at)
    VALUES (${subject}::text, 1, 0, NULL, ${now}::timestamptz)
    ON CONFLICT (subject) DO UPDATE SET
      failures = CASE
        WHEN NOT ${unlocked} THEN f.failures
        WHEN ${budgetLeft} THEN f.failures + 1
        WHEN ${overdue} THEN 0
        ELSE ${policy.threshold + 1}::int
      END,
      lock_count = CASE WHEN ${lockNow} THEN f.lock_count + 1 ELSE f.lock_count END,
      locked_until = CASE WHEN ${lockNow} THEN ${lockEnd(now, policy)} ELSE f.locked_until END,
      -- A refused attempt leaves updated_at alone, so the pending clock keeps running.
      updated_at = CASE WHEN ${unlocked} AND (${budgetLeft} OR ${overdue}) THEN ${now}::timestamptz ELSE f.updated_at END
    RETURNING f.failures, f.locked_until, ${lockSeconds(policy)} AS next_lock_seconds`.execute(db);
  const row = result.rows[0];
  if (row === undefined) throw new Error('the login attempt reservation returned no row');
  return toReservation(row, now, policy);
}

/**
 * Records that a reserved attempt failed. It counts nothing (the reservation already
 * did); it starts the lock when the count has reached the threshold, and resets the
 * count so a fresh window opens when the lock ends. Only one of several concurrent
 * failures finds the count at the threshold, so only one reports `locked`.
 */
export async function recordLoginFailure(db: Kysely<Schema>, subject: string, now: Date, policy: LockoutPolicy): Promise<FailureOutcome> {
  const result = await sql<{ locked_until: Date }>`
    UPDATE login_failures AS f
    SET lock_count = f.lock_count + 1,
        locked_until = ${lockEnd(now, policy)},
        failures = 0,
        updated_at = ${now}::timestamptz
    WHERE f.subject = ${subject}::text
      AND f.failures >= ${policy.threshold}::int
      AND ${unlockedAt(now)}
    RETURNING f.locked_until`.execute(db);
  const row = result.rows[0];
  return row === undefined ? { locked: false, lockedUntil: null } : { locked: true, lockedUntil: row.locked_until };
}

/**
 * Records a successful login: the count (which included this login's own reservation)
 * and the doubling start again. A lock already in force stays until it ends.
 */
export async function recordLoginSuccess(db: Kysely<Schema>, subject: string, now: Date): Promise<void> {
  await db.updateTable('login_failures').set({ failures: 0, lock_count: 0, updated_at: now }).where('subject', '=', subject).execute();
}

/** Lifts a lock and clears the count, after a completed password reset or by an admin. */
export async function unlockLoginSubject(db: Kysely<Schema>, subject: string, now: Date): Promise<void> {
  await db.updateTable('login_failures').set({ locked_until: null, failures: 0, updated_at: now }).where('subject', '=', subject).execute();
}

/** The subjects among `subjects` that are locked at `now`, with the end of each lock. */
export async function activeLocks(db: Kysely<Schema>, subjects: readonly string[], now: Date): Promise<Map<string, Date>> {
  if (subjects.length === 0) return new Map();
  const rows = await db.selectFrom('login_failures').select(['subject', 'locked_until']).where('subject', 'in', subjects).where('locked_until', '>', now).execute();
  return new Map(rows.flatMap((row) => (row.locked_until === null ? [] : [[row.subject, row.locked_until] as const])));
}

/**
 * Moves the counters of subject `from` (and its per-device counters `from/device/<id>`)
 * to `to`, keeping the stricter of the two where both exist: a blind-index rotation
 * re-indexing an account calls it in the same transaction, so the account's new index
 * starts with every failure and lock its old one had. The match is by prefix, not LIKE:
 * base64url subjects contain `_`, a LIKE wildcard.
 */
export async function carryLoginFailures(db: Kysely<Schema>, from: string, to: string): Promise<number> {
  const prefix = `${from}/device/`;
  const moved = await sql`
    INSERT INTO login_failures AS f (subject, failures, lock_count, locked_until, updated_at)
    SELECT ${to}::text || substr(o.subject, length(${from}::text) + 1), o.failures, o.lock_count, o.locked_until, o.updated_at
    FROM login_failures AS o
    WHERE o.subject = ${from}::text OR left(o.subject, length(${prefix}::text)) = ${prefix}::text
    ON CONFLICT (subject) DO UPDATE SET
      failures = greatest(f.failures, excluded.failures),
      lock_count = greatest(f.lock_count, excluded.lock_count),
      locked_until = greatest(f.locked_until, excluded.locked_until),
      updated_at = greatest(f.updated_at, excluded.updated_at)`.execute(db);
  await sql`DELETE FROM login_failures WHERE subject = ${from}::text OR left(subject, length(${prefix}::text)) = ${prefix}::text`.execute(db);
  return Number(moved.numAffectedRows ?? 0n);
}
