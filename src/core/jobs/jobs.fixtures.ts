// For job tests: a user row to own jobs, a handler whose behaviour each test scripts, and
// a runner on a database with a clock that moves only when told.
import { randomBytes, randomUUID } from 'node:crypto';
import type { DB } from '../db/database.ts';
import { createLogger, type Logger } from '../logging.ts';
import type { ClaimedJob } from './repo.ts';
import type { RetryPolicy } from './retry.ts';
import type { JobHandler, JobOutcome } from './handler.ts';
import { createJobRunner, DEFAULT_JOB_RUNNER_TUNING, type JobEvents, type JobRunner, type JobRunnerTuning } from './runner.ts';

/** A minimal account row (nothing about it is read), for jobs that name a user. */
export async function insertUser(db: DB): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await db
    .insertInto('users')
    .values({ id, email_index: randomBytes(16).toString('hex'), email_ciphertext: 'test', created_at: now, updated_at: now })
    .execute();
  return id;
}

/** A kind unique to one test, so tests sharing a database never run each other's jobs. */
export function uniqueKind(): string {
  return `test-${randomBytes(6).toString('hex')}`;
}

export const QUICK_RETRY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 1_000, maxAttempts: 3, jitter: 0 };

export interface ScriptedHandler extends JobHandler {
  /** Payloads handled, in order. */
  readonly seen: string[];
}

export function scriptedHandler(kind: string, run: (job: ClaimedJob, signal: AbortSignal) => Promise<JobOutcome>, options: { readonly timeoutMs?: number; readonly retry?: RetryPolicy } = {}): ScriptedHandler {
  const seen: string[] = [];
  return {
    kind,
    seen,
    retry: options.retry ?? QUICK_RETRY,
    timeoutMs: options.timeoutMs ?? 2_000,
    async handle(job, signal) {
      seen.push(job.payload);
      return run(job, signal);
    },
  };
}

export const silentLog: Logger = createLogger({ level: 'silent' });

export function runnerFor(db: DB, options: { readonly handlers: readonly JobHandler[]; readonly clock: () => Date; readonly tuning?: Partial<JobRunnerTuning>; readonly events?: JobEvents; readonly log?: Logger }): JobRunner {
  return createJobRunner({
    db,
    clock: options.clock,
    log: options.log ?? silentLog,
    handlers: options.handlers,
    tuning: { ...DEFAULT_JOB_RUNNER_TUNING, pollIntervalMs: 100, wakeDelayMs: 20, stopGraceMs: 200, ...options.tuning },
    ...(options.events === undefined ? {} : { events: options.events }),
  });
}
