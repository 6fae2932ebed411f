// Periodic work (retention purges): each scheduled job runs every `everySeconds` on one
// instance of a cluster. Every instance polls; a job is claimed by the one UPDATE of its
// `scheduled_runs` row that moves `last_started_at` forward from a value older than the
// interval, so two instances never both run it (and no lock is held while it runs). A job
// that fails is logged and tried again at its next interval; nothing here is on a
// request's path.
import { Cron } from 'croner';
import type { Clock } from '../clock.ts';
import type { DB } from '../db/database.ts';
import { databaseUnavailableReason } from '../db/unavailable.ts';
import type { Logger } from '../logging.ts';

export interface ScheduledJob {
  /** Lowercase letters, digits and dashes: a metrics label and a CLI argument. */
  readonly name: string;
  readonly everySeconds: number;
  /**
   * A cron expression (UTC): the job is due once per slot, when it has not started since
   * the newest slot at or before now (and `everySeconds` have passed). For backups.
   */
  readonly cron?: string;
  /** What the job is for, for `gatehouse jobs list`. */
  readonly description: string;
  /** Does the work; answers how many rows it removed. */
  run(db: DB, now: Date): Promise<number>;
}

export interface Scheduler {
  readonly jobs: readonly ScheduledJob[];
  /** Runs every job that is due and claimed by this instance; answers the names run. */
  runDue(): Promise<string[]>;
  /** Runs one job now, whatever its schedule (operators: `gatehouse jobs run NAME`); null if no such job. */
  runNow(name: string): Promise<number | null>;
  start(): void;
  stop(): Promise<void>;
}

const NAME = /^[a-z][a-z0-9-]{0,47}$/;

/** The newest slot of a cron expression at or before `now` (UTC); null if it has none. */
export function previousSlot(cron: string, now: Date): Date | null {
  return new Cron(cron, { paused: true, timezone: 'UTC' }).previousRuns(1, new Date(now.getTime() + 1))[0] ?? null;
}

/** Started at or before this, the job is due again. */
function dueBefore(job: ScheduledJob, now: Date): Date {
  const interval = now.getTime() - job.everySeconds * 1000;
  if (job.cron === undefined) return new Date(interval);
  const slot = previousSlot(job.cron, now);
  return new Date(Math.min(interval, slot === null ? Number.NEGATIVE_INFINITY : slot.getTime() - 1));
}

/** Claims `job` if it is due: true for exactly one of any number of concurrent callers. */
async function claim(db: DB, job: ScheduledJob, now: Date): Promise<boolean> {
  const due = dueBefore(job, now);
  if (Number.isNaN(due.getTime())) return false;
  const claimed = await db
    .insertInto('scheduled_runs')
    .values({ name: job.name, last_started_at: now, last_finished_at: null, last_removed: null })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ last_started_at: now }).where('scheduled_runs.last_started_at', '<=', due))
    .returning('name')
    .executeTakeFirst();
  return claimed !== undefined;
}

export function createScheduler(deps: {
  db: DB;
  clock: Clock;
  log: Logger;
  jobs: readonly ScheduledJob[];
  pollIntervalMs?: number;
  onRun?: (name: string, removed: number) => void;
}): Scheduler {
  for (const job of deps.jobs) {
    if (!NAME.test(job.name) || !Number.isSafeInteger(job.everySeconds) || job.everySeconds < 1) throw new TypeError(`scheduled job ${job.name}: bad name or interval`);
  }
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();

  async function execute(job: ScheduledJob): Promise<number> {
    const removed = await job.run(deps.db, deps.clock());
    await deps.db
      .updateTable('scheduled_runs')
      .set({ last_finished_at: deps.clock(), last_removed: removed })
      .where('name', '=', job.name)
      .execute();
    deps.onRun?.(job.name, removed);
    deps.log.info({ job: job.name, removed }, 'scheduled job done');
    return removed;
  }

  async function runDue(): Promise<string[]> {
    const ran: string[] = [];
    for (const job of deps.jobs) {
      try {
        if (!(await claim(deps.db, job, deps.clock()))) continue;
        await execute(job);
        ran.push(job.name);
      } catch (error) {
        const unavailable = databaseUnavailableReason(error);
        if (unavailable === null) deps.log.error({ err: error, job: job.name }, 'scheduled job failed');
        else deps.log.warn({ job: job.name, reason: unavailable }, 'scheduled job skipped: database unavailable');
      }
    }
    return ran;
  }

  return {
    jobs: deps.jobs,
    runDue,
    async runNow(name) {
      const job = deps.jobs.find((candidate) => candidate.name === name);
      if (job === undefined) return null;
      // Recorded as a start, so the regular schedule counts from it.
      await deps.db
        .insertInto('scheduled_runs')
        .values({ name: job.name, last_started_at: deps.clock(), last_finished_at: null, last_removed: null })
        .onConflict((conflict) => conflict.column('name').doUpdateSet({ last_started_at: deps.clock() }))
        .execute();
      return execute(job);
    },
    start() {
      if (timer !== null) return;
      const tick = (): void => {
        running = runDue();
      };
      timer = setInterval(tick, deps.pollIntervalMs ?? 60_000);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      await running.catch(() => undefined);
    },
  };
}
