// The jobs table's repository. Jobs are written inside the transaction of the change
// that asks for them (so a rolled-back change enqueues nothing) and run later by the
// runner; a job is claimed before it runs by moving its `next_attempt_at` past the
// handler's timeout (a lease), in one statement that skips rows another instance is
// claiming, so several instances never run the same job at once. Every later update is
// fenced on the claim's attempt count: an instance whose lease ran out cannot overwrite
// the outcome of the instance that claimed the job after it.
import { sql, type Kysely, type Transaction } from 'kysely';
import { uuidv7 } from '../crypto/ids.ts';
import type { Schema } from '../db/schema.ts';
import { AppError } from '../errors.ts';

type DB = Kysely<Schema>;

export interface NewJob {
  /** Given when the payload is sealed to the row id before the insert; a UUIDv7 otherwise. */
  readonly id?: string;
  readonly kind: string;
  readonly payload: string;
  /** The account the job is for: deleting it deletes the job. */
  readonly userId?: string | null;
  /** Unique within the kind; a second job with the same key makes the insert fail. */
  readonly dedupeKey?: string | null;
  /** Not run before this time (`now` by default): how a sender paces a large batch. */
  readonly notBefore?: Date;
}

/**
 * Pending jobs of one kind above which an enqueue is refused. High enough for a long
 * outage of the mail server or a webhook receiver at ordinary traffic; low enough that
 * a flood (or a dead dependency) cannot grow the table without limit.
 */
export const DEFAULT_MAX_PENDING_JOBS = 10_000;

/** Retry-After of the 503 a full queue answers: the runner needs a while to drain it. */
export const QUEUE_FULL_RETRY_SECONDS = 60;

export interface EnqueueOptions {
  /**
   * Refuse when this many jobs of the kind are already pending; DEFAULT_MAX_PENDING_JOBS
   * by default. Null: never refuse (a security notice whose change must not fail because
   * other mail is backed up; such jobs are bounded by the actions that make them).
   */
  readonly maxPending?: number | null;
}

/** The refusal of a full queue: 503, and when to try again. */
export function queueFull(kind: string): AppError {
  return new AppError('service_unavailable', {
    detail: `job queue full: ${kind}`,
    headers: { 'retry-after': String(QUEUE_FULL_RETRY_SECONDS) },
  });
}

// Counts at most `limit` rows through the partial index of pending jobs, so the check
// costs the same however full the queue is allowed to get.
async function pendingAtLeast(trx: Transaction<Schema>, kind: string, limit: number): Promise<boolean> {
  const row = await trx
    .selectFrom((eb) =>
      eb
        .selectFrom('jobs')
        .select(sql<number>`1`.as('one'))
        .where('kind', '=', kind)
        .where('done_at', 'is', null)
        .where('failed_at', 'is', null)
        .limit(limit)
        .as('pending'),
    )
    .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count) >= limit;
}

/**
 * Writes `jobs` in one INSERT inside the caller's transaction, due at `now` (or their
 * `notBefore`, when later). A kind
 * whose pending jobs reach the maximum is refused with a 503 (`service_unavailable`,
 * Retry-After): the whole change rolls back, so accepted work is never dropped. The
 * bound is approximate under concurrency (two transactions may both see room for one).
 */
export async function enqueueJobs(trx: Transaction<Schema>, jobs: readonly NewJob[], now: Date, options: EnqueueOptions = {}): Promise<string[]> {
  if (jobs.length === 0) return [];
  const maxPending = options.maxPending === undefined ? DEFAULT_MAX_PENDING_JOBS : options.maxPending;
  for (const kind of new Set(jobs.map((job) => job.kind))) {
    if (maxPending !== null && (await pendingAtLeast(trx, kind, maxPending))) throw queueFull(kind);
  }
  const rows = jobs.map((job) => ({
    id: job.id ?? uuidv7(now.getTime()),
    kind: job.kind,
    payload: job.payload,
    user_id: job.userId ?? null,
    dedupe_key: job.dedupeKey ?? null,
    created_at: now,
    next_attempt_at: job.notBefore !== undefined && job.notBefore > now ? job.notBefore : now,
    attempts: 0,
  }));
  await trx.insertInto('jobs').values(rows).execute();
  return rows.map((row) => row.id);
}

/** A job this instance holds the lease on; `attempts` already counts the attempt being made. */
export interface ClaimedJob {
  readonly id: string;
  readonly kind: string;
  readonly payload: string;
  readonly userId: string | null;
  readonly dedupeKey: string | null;
  readonly attempts: number;
}

export interface ClaimOptions {
  readonly now: Date;
  /** When the lease ends: a claim not settled by then is due again (the holder crashed). */
  readonly leaseUntil: Date;
  /** Only jobs this instance has a handler for. */
  readonly kinds: readonly string[];
  readonly limit: number;
}

export async function claimDueJobs(db: DB, options: ClaimOptions): Promise<ClaimedJob[]> {
  if (options.kinds.length === 0 || options.limit <= 0) return [];
  const rows = await db
    .updateTable('jobs')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: options.leaseUntil }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('jobs')
        .select('id')
        .where('kind', 'in', [...options.kinds])
        .where('done_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', options.now)
        .orderBy('next_attempt_at')
        .limit(options.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'kind', 'payload', 'user_id', 'dedupe_key', 'attempts'])
    .execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    // Pending rows always hold a payload (a CHECK in migration 0010).
    payload: row.payload ?? '',
    userId: row.user_id,
    dedupeKey: row.dedupe_key,
    attempts: row.attempts,
  }));
}

function pending(db: DB, claim: ClaimedJob) {
  return db
    .updateTable('jobs')
    .where('id', '=', claim.id)
    .where('attempts', '=', claim.attempts)
    .where('done_at', 'is', null)
    .where('failed_at', 'is', null);
}

async function changed(query: { executeTakeFirst(): Promise<{ numUpdatedRows: bigint }> }): Promise<boolean> {
  return (await query.executeTakeFirst()).numUpdatedRows > 0n;
}

/** False when the lease was lost meanwhile (another instance owns the job now). The payload goes. */
export async function markJobDone(db: DB, claim: ClaimedJob, now: Date): Promise<boolean> {
  return changed(pending(db, claim).set({ done_at: now, last_error: null, payload: null }));
}

export async function scheduleJobRetry(db: DB, claim: ClaimedJob, retry: { readonly at: Date; readonly error: string }): Promise<boolean> {
  return changed(pending(db, claim).set({ next_attempt_at: retry.at, last_error: retry.error.slice(0, 100) }));
}

/** Gives up on the job for good; the payload goes. */
export async function markJobFailed(db: DB, claim: ClaimedJob, failure: { readonly now: Date; readonly error: string }): Promise<boolean> {
  return changed(pending(db, claim).set({ failed_at: failure.now, last_error: failure.error.slice(0, 100), payload: null }));
}

/**
 * Gives a claim back unrun and uncounted (this instance is stopping, not the job
 * failing): due at once, for whichever instance polls next.
 */
export async function releaseJob(db: DB, claim: ClaimedJob, now: Date): Promise<boolean> {
  return changed(pending(db, claim).set((eb) => ({ attempts: eb('attempts', '-', 1), next_attempt_at: now })));
}

/** Deletes up to `limit` jobs done or given up on that were created before `before`. */
export async function pruneJobs(db: DB, options: { readonly before: Date; readonly limit: number }): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('jobs')
        .select('id')
        .where('created_at', '<', options.before)
        .where((inner) => inner.or([inner('done_at', 'is not', null), inner('failed_at', 'is not', null)]))
        .limit(options.limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Pending jobs per kind, for the queue-depth gauge. */
export async function countPendingJobs(db: DB, kinds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map(kinds.map((kind) => [kind, 0]));
  if (kinds.length === 0) return counts;
  const rows = await db
    .selectFrom('jobs')
    .select(['kind', (eb) => eb.fn.countAll<string | number | bigint>().as('count')])
    .where('kind', 'in', [...kinds])
    .where('done_at', 'is', null)
    .where('failed_at', 'is', null)
    .groupBy('kind')
    .execute();
  for (const row of rows) counts.set(row.kind, Number(row.count));
  return counts;
}
