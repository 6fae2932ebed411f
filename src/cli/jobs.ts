// `gatehouse jobs list` and `gatehouse jobs run NAME`: the scheduled retention purges an
// operator can look at or run now (a running server runs them on its own schedule; a
// manual run counts as one, so the next scheduled run waits its interval).
import type { Scheduler } from '../core/jobs/scheduler.ts';
import type { Runtime } from '../runtime.ts';
import { createServices } from '../services.ts';

/** The server's own scheduler (its jobs erase accounts through audited changes). */
async function schedulerOf(runtime: Runtime): Promise<Scheduler> {
  return (await createServices(runtime)).scheduler;
}

export async function listJobsCommand(runtime: Runtime, write: (text: string) => void): Promise<number> {
  const runs = await runtime.database.db.selectFrom('scheduled_runs').selectAll().execute();
  for (const job of (await schedulerOf(runtime)).jobs) {
    const last = runs.find((run) => run.name === job.name);
    const when = last === undefined ? 'never run' : `last started ${new Date(last.last_started_at).toISOString()}, removed ${String(last.last_removed ?? '-')}`;
    const schedule = job.cron === undefined ? `every ${job.everySeconds} s` : `at "${job.cron}" UTC`;
    write(`${job.name}\t${schedule}\t${when}\n  ${job.description}\n`);
  }
  return 0;
}

export async function runJobCommand(runtime: Runtime, name: string, write: (text: string) => void): Promise<number> {
  const removed = await (await schedulerOf(runtime)).runNow(name);
  if (removed === null) {
    write(`no scheduled job named ${name}; see gatehouse jobs list\n`);
    return 2;
  }
  write(`${name}: removed ${removed}\n`);
  return 0;
}
