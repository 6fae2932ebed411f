// For mail-queue tests: a queue and a job runner on a database, with a transport that
// records what it sends (or fails as told), a clock that moves only when told, and the
// log lines captured.
import { randomBytes } from 'node:crypto';
import { captureLines } from '../../../test/helpers/app.ts';
import { manualClock, type ManualClock } from '../../../test/security/security.fixtures.ts';
import type { Selectable } from 'kysely';
import type { DB } from '../../core/db/database.ts';
import type { JobsTable } from '../../core/db/schema.ts';
import { QUICK_RETRY, runnerFor } from '../../core/jobs/jobs.fixtures.ts';
import type { JobRunner } from '../../core/jobs/runner.ts';
import { createLogger } from '../../core/logging.ts';
import type { MailMessage, MailTransport } from './mailer.ts';
import { createMailQueue, MAIL_JOB_KIND, type MailQueue } from './queue.ts';
import { passwordResetMail } from './templates.ts';

export interface MailRig {
  /** The payload key; pass it to another rig to act as a second instance. */
  readonly key: Buffer;
  readonly queue: MailQueue;
  readonly runner: JobRunner;
  readonly sent: MailMessage[];
  readonly logs: string[];
  readonly time: ManualClock;
  /** Makes the next `count` sends fail with `error`. */
  failNext(count: number, error: Error): void;
}

export function mailRig(db: DB, options: { readonly key?: Buffer; readonly maxPending?: number; readonly transport?: MailTransport } = {}): MailRig {
  const sent: MailMessage[] = [];
  const logs: string[] = [];
  const failures: Error[] = [];
  const time = manualClock();
  const key = options.key ?? randomBytes(32);
  const log = createLogger({ level: 'info', destination: captureLines(logs) });
  const transport: MailTransport = options.transport ?? (async (message) => {
    const failure = failures.shift();
    if (failure !== undefined) throw failure;
    sent.push({ to: message.to, subject: message.subject, text: message.text });
  });
  const queue = createMailQueue({
    key,
    transport,
    from: 'Gatehouse <no-reply@localhost>',
    clock: time.clock,
    log,
    retry: QUICK_RETRY,
    ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
  });
  return {
    key,
    queue,
    runner: runnerFor(db, { handlers: [queue.handler], clock: time.clock, log }),
    sent,
    logs,
    time,
    failNext(count, error) {
      for (let n = 0; n < count; n++) failures.push(error);
    },
  };
}

export const RECIPIENT = 'ada@example.test';

export function resetMail(token: string): MailMessage {
  return passwordResetMail({ publicURL: 'https://id.example.test' }, RECIPIENT, token);
}

export function mailJobs(db: DB): Promise<Selectable<JobsTable>[]> {
  return db.selectFrom('jobs').selectAll().where('kind', '=', MAIL_JOB_KIND).orderBy('created_at').orderBy('id').execute();
}
