// Runs the jobs table in the background: a round claims a batch of due jobs of the kinds
// it has handlers for, runs them in parallel and records each outcome; rounds run every
// `pollIntervalMs`, and shortly after a job is enqueued (`wake`). Nothing here runs on a
// request's path: the request only wrote a row, so a slow mail server or a dead webhook
// receiver never slows a login.
//
// Stopping lets running jobs finish for `stopGraceMs`, then aborts them and gives their
// rows back uncounted; a crash instead leaves them claimed until their lease ends. Either
// way the next instance to poll runs them, so a job runs at least once, and handlers
// whose effect must not repeat say how receivers deduplicate (webhooks: the event id).
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Schema } from '../db/schema.ts';
import { outsideTransaction } from '../db/transaction-scope.ts';
import { databaseUnavailableReason } from '../db/unavailable.ts';
import type { Logger } from '../logging.ts';
import {
  claimDueJobs,
  countPendingJobs,
  markJobDone,
  markJobFailed,
  pruneJobs,
  releaseJob,
  scheduleJobRetry,
  type ClaimedJob,
} from './repo.ts';
import { attemptJob, OVERRUN_MS, type JobFailure, type JobHandler, type JobOutcome } from './handler.ts';
import { randomFraction, retryDelayMs } from './retry.ts';

export interface JobRunnerTuning {
  readonly pollIntervalMs: number;
  /** How long after an enqueue to look: the row is visible only once its transaction commits. */
  readonly wakeDelayMs: number;
  readonly batchSize: number;
  readonly stopGraceMs: number;
  /** Done and failed jobs are deleted this long after they were created. */
  readonly retentionMs: number;
}

export const DEFAULT_JOB_RUNNER_TUNING: JobRunnerTuning = {
  pollIntervalMs: 5_000,
  wakeDelayMs: 50,
  batchSize: 10,
  // Well inside the default SHUTDOWN_TIMEOUT_SECONDS (10).
  stopGraceMs: 3_000,
  // Delivered mail and webhooks (docs/privacy.md): long enough to look into a complaint.
  retentionMs: 7 * 86_400_000,
};

/** What metrics need: the kind and outcome, never a payload. */
export interface JobEvents {
  onSettled?(kind: string, outcome: { readonly status: 'done' } | ({ readonly status: 'failed' } & JobFailure)): void;
  onQueueDepth?(depth: ReadonlyMap<string, number>): void;
}

export interface JobRunnerDeps {
  readonly db: Kysely<Schema>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly handlers: readonly JobHandler[];
  readonly tuning: JobRunnerTuning;
  readonly events?: JobEvents;
  /** The jitter source; the CSPRNG by default. */
  readonly random?: () => number;
}

export interface JobRunner {
  start(): void;
  /** Look for due jobs soon; called after each enqueue. */
  wake(): void;
  /** Runs rounds until nothing due is left, now, whether or not the loop is started (tests). */
  runDue(): Promise<number>;
  /** Ends the loop; running jobs get the grace period, then are abandoned for a later retry. */
  stop(): Promise<void>;
}

// A claim must outlive its run (the timeout), the stop grace and the write of its outcome
// (one UPDATE); the margin is what a crashed instance's claims wait beyond that.
const LEASE_MARGIN_MS = 10_000;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 1_000;

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { db, clock, log, tuning } = deps;
  const handlers = new Map(deps.handlers.map((handler) => [handler.kind, handler]));
  if (handlers.size !== deps.handlers.length) throw new Error('two job handlers for one kind');
  const kinds = [...handlers.keys()];
  const longest = Math.max(0, ...deps.handlers.map((handler) => handler.timeoutMs));
  let active = false;
  let stopController = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let waking = false;
  let stopping = false;
  let ongoing: Promise<number> | null = null;
  // Set by a wake during a round: the job it announces may not have been committed yet
  // when that round claimed, so the next round comes after the wake delay, not the poll interval.
  let wokenDuringRound = false;
  let lastPrune = Number.NEGATIVE_INFINITY;
  let lastDepth = Number.NEGATIVE_INFINITY;

  async function settle(job: ClaimedJob, handler: JobHandler, outcome: JobOutcome): Promise<void> {
    const now = clock();
    const fields = { job_id: job.id, kind: job.kind, attempt: job.attempts };
    if (outcome.status === 'done') {
      await markJobDone(db, job, now);
      deps.events?.onSettled?.(job.kind, { status: 'done' });
      return;
    }
    if (outcome.status === 'abandoned') {
      await releaseJob(db, job, now);
      log.info(fields, 'job abandoned at shutdown; it will be retried');
      return;
    }
    const delay = outcome.status === 'failed' ? null : retryDelayMs(handler.retry, job.attempts, deps.random ?? randomFraction);
    if (delay === null) {
      await markJobFailed(db, job, { now, error: outcome.error });
    } else {
      await scheduleJobRetry(db, job, { at: new Date(now.getTime() + delay), error: outcome.error });
    }
    const failure = { error: outcome.error, attempt: job.attempts, final: delay === null };
    log.debug({ ...fields, error: outcome.error, final: failure.final }, 'job attempt failed');
    deps.events?.onSettled?.(job.kind, { status: 'failed', ...failure });
    handler.onFailure?.(job, failure);
  }

  async function runOne(job: ClaimedJob): Promise<void> {
    const handler = handlers.get(job.kind);
    if (handler === undefined) return;
    try {
      await settle(job, handler, await attemptJob(job, handler, stopController.signal));
    } catch (error) {
      // The outcome could not be written: the lease runs out and the job is tried again.
      log.error({ err: error, job_id: job.id, kind: job.kind }, 'job outcome not recorded');
    }
  }

  async function runBatch(): Promise<number> {
    const now = clock();
    const claims = await claimDueJobs(db, {
      now,
      leaseUntil: new Date(now.getTime() + longest + OVERRUN_MS + tuning.stopGraceMs + LEASE_MARGIN_MS),
      kinds,
      limit: tuning.batchSize,
    });
    await Promise.all(claims.map(runOne));
    return claims.length;
  }

  async function housekeeping(): Promise<void> {
    const now = clock().getTime();
    if (deps.events?.onQueueDepth !== undefined && (now - lastDepth >= tuning.pollIntervalMs || now < lastDepth)) {
      lastDepth = now;
      deps.events.onQueueDepth(await countPendingJobs(db, kinds));
    }
    if (now - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now;
    const deleted = await pruneJobs(db, { before: new Date(now - tuning.retentionMs), limit: PRUNE_BATCH });
    if (deleted > 0) log.info({ deleted }, 'old finished jobs pruned');
  }

  async function runAllDue(): Promise<number> {
    let total = 0;
    try {
      let claimed: number;
      do {
        claimed = await runBatch();
        total += claimed;
      } while (claimed === tuning.batchSize && !stopping);
      await housekeeping();
    } catch (error) {
      // An outage is one short warning per round (every poll), not a stack trace each time.
      const reason = databaseUnavailableReason(error);
      if (reason === null) log.error({ err: error }, 'job round failed');
      else log.warn({ reason }, 'job round failed: database unavailable');
    }
    return total;
  }

  function schedule(delayMs: number): void {
    if (timer !== null) clearTimeout(timer);
    // wake() is called from inside the change's transaction: a timer armed there would
    // inherit it and, firing before the commit, claim the uncommitted job and run it for
    // a change that may still roll back.
    timer = outsideTransaction(() =>
      setTimeout(() => {
        timer = null;
        waking = false;
        void runRound();
      }, delayMs),
    );
    // The loop alone never keeps a process alive (a CLI command, a finished test).
    timer.unref();
  }

  async function runRound(): Promise<number> {
    if (ongoing !== null) return ongoing;
    wokenDuringRound = false;
    ongoing = runAllDue().finally(() => {
      ongoing = null;
      if (active) schedule(wokenDuringRound ? tuning.wakeDelayMs : tuning.pollIntervalMs);
    });
    return ongoing;
  }

  return {
    start() {
      if (active) return;
      active = true;
      stopping = false;
      stopController = new AbortController();
      schedule(0);
    },
    wake() {
      // A burst of jobs sets one timer, not one each; a pending wake is not postponed.
      if (!active || waking) return;
      if (ongoing !== null) {
        wokenDuringRound = true;
        return;
      }
      waking = true;
      schedule(tuning.wakeDelayMs);
    },
    async runDue() {
      // A round already running may have claimed before the caller's jobs were committed.
      const running = ongoing === null ? 0 : await ongoing;
      return running + (await runRound());
    },
    async stop() {
      active = false;
      stopping = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      waking = false;
      const grace = setTimeout(() => {
        stopController.abort();
      }, tuning.stopGraceMs);
      try {
        if (ongoing !== null) await ongoing;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}
