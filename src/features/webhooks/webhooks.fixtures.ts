// For webhook tests: a receiver on loopback that records every request, answers with the
// statuses it is told to (204 by default), can hang or redirect, and lets a test wait,
// with a bound, for the n-th request; the observer and a job runner with the webhook
// handler wired on a database; and the webhook jobs read back in the outbox's terms.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLines } from '../../../test/helpers/app.ts';
import { createChainHeadCache } from '../../core/audit/append.ts';
import { generateAuditKey } from '../../core/audit/audit.fixtures.ts';
import { createAuditor, type Auditor } from '../../core/audit/auditor.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import { createJobRunner, DEFAULT_JOB_RUNNER_TUNING, type JobRunner, type JobRunnerTuning } from '../../core/jobs/runner.ts';
import { createLogger } from '../../core/logging.ts';
import type { WebhookFailure, WebhookTuning } from './handler.ts';
import { WEBHOOK_JOB_KIND, webhookDedupeKey } from './outbox.ts';
import { createSecurityWebhooks } from './service.ts';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A status to answer, `hang` (never answer), `stream` (200, then a body that never ends), or `redirect` to a URL. */
export type ReceiverReply = number | 'hang' | 'stream' | { readonly redirect: string };

export interface Receiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Replies for the next requests, in order; afterwards 204. */
  reply(...replies: ReceiverReply[]): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function answer(response: ServerResponse, reply: ReceiverReply): void {
  if (reply === 'hang') return;
  if (reply === 'stream') {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.write(Buffer.alloc(64 * 1024));
    return;
  }
  if (typeof reply === 'number') {
    response.writeHead(reply, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  response.writeHead(302, { location: reply.redirect }).end();
}

export async function startReceiver(options: { readonly path?: string } = {}): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const replies: ReceiverReply[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const wake of waiters) wake();
      answer(response, replies.shift() ?? 204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? '/hooks'}`,
    received,
    reply(...more) {
      replies.push(...more);
    },
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver got ${received.length} of ${count} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

/** A signing secret for one test run, never a literal. */
export function testWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Short intervals, so retries and wake-ups take milliseconds. */
export const FAST_WEBHOOKS = { pollIntervalMs: 100, wakeDelayMs: 20, timeoutMs: 2_000, stopGraceMs: 200 } as const;

export type WebhookRigTuning = Partial<JobRunnerTuning & WebhookTuning>;

export interface WebhookRig {
  /** A job runner with only the webhook handler, as one serving instance. */
  readonly runner: JobRunner;
  readonly logs: string[];
  readonly failures: WebhookFailure[];
  readonly secret: string;
  /** The auditor wired to the observer, for tests that record inside their own transaction. */
  readonly auditor: Auditor;
  /** Records an `auth.locked` event (a webhook) in its own transaction; returns its audit id. */
  recordLock(): Promise<string>;
}

/**
 * The observer and a job runner as the server wires them, on `db`, for `urls`, with a
 * logger that captures its lines. Several rigs on one database act as several instances.
 */
export function webhookRig(db: DB, options: { readonly urls: readonly string[]; readonly clock: Clock; readonly tuning?: WebhookRigTuning; readonly secret?: string; readonly previousSecret?: string; readonly includeIp?: boolean }): WebhookRig {
  const logs: string[] = [];
  const failures: WebhookFailure[] = [];
  const secret = options.secret ?? testWebhookSecret();
  const log = createLogger({ level: 'info', destination: captureLines(logs) });
  const tuning = { ...FAST_WEBHOOKS, ...options.tuning };
  const wake = { runner: null as JobRunner | null };
  const webhooks = createSecurityWebhooks({
    clock: options.clock,
    log,
    config: { urls: options.urls, secret, previousSecret: options.previousSecret ?? null, includeIp: options.includeIp ?? false },
    tuning,
    onFailure: (failure) => failures.push(failure),
    onEnqueued: () => { wake.runner?.wake(); },
  });
  if (webhooks === null) throw new Error('webhooks need urls');
  const runner = createJobRunner({ db, clock: options.clock, log, handlers: [webhooks.handler], tuning: { ...DEFAULT_JOB_RUNNER_TUNING, ...tuning } });
  wake.runner = runner;
  const auditor = createAuditor({ key: generateAuditKey(), clock: options.clock, headCache: createChainHeadCache(), observers: [webhooks.observer] });
  return {
    runner,
    logs,
    failures,
    secret,
    auditor,
    async recordLock() {
      const appended = await db.transaction().execute((trx) =>
        auditor.record(trx, { ip: '192.0.2.1', userAgent: null, requestId: null }, {
          actor: { type: 'system' },
          action: 'auth.locked',
          target: { type: 'user', id: randomUUID() },
          outcome: 'success',
        }),
      );
      return appended.id;
    },
  };
}

/** A webhook job as the outbox table had it (migration 0006), for assertions. */
export interface WebhookRow {
  readonly id: string;
  readonly event_id: string;
  /** The receiver, when it is one of the URLs asked about (or the payload is still there). */
  readonly url: string | null;
  readonly event_type: string | null;
  /** The signed body; null once the job is finished (its payload is cleared). */
  readonly payload: string | null;
  readonly created_at: Date;
  readonly next_attempt_at: Date;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly delivered_at: Date | null;
  readonly failed_at: Date | null;
}

/**
 * The webhook jobs for `eventId` and/or for receivers among `urls`, ordered by URL then
 * creation; the event id and receiver come from the dedupe key, which outlives the payload.
 */
export async function webhookRows(db: DB, filter: { readonly eventId?: string; readonly urls?: readonly string[] }): Promise<WebhookRow[]> {
  const byHash = new Map((filter.urls ?? []).map((url) => [webhookDedupeKey('', url).slice(1), url]));
  let query = db.selectFrom('jobs').selectAll().where('kind', '=', WEBHOOK_JOB_KIND);
  if (filter.eventId !== undefined) query = query.where('dedupe_key', 'like', `${filter.eventId}:%`);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  const mapped = rows.map((row): WebhookRow => {
    const [eventId = '', hash = ''] = (row.dedupe_key ?? '').split(':');
    const body = row.payload === null ? null : (JSON.parse(row.payload) as { url: string; event_type: string; body: string });
    return {
      id: row.id,
      event_id: eventId,
      url: byHash.get(hash) ?? body?.url ?? null,
      event_type: body?.event_type ?? null,
      payload: body?.body ?? null,
      created_at: row.created_at,
      next_attempt_at: row.next_attempt_at,
      attempts: row.attempts,
      last_error: row.last_error,
      delivered_at: row.done_at,
      failed_at: row.failed_at,
    };
  });
  const urls = filter.urls;
  const wanted = urls === undefined ? mapped : mapped.filter((row) => row.url !== null && urls.includes(row.url));
  return wanted.sort((a, b) => (a.url ?? '').localeCompare(b.url ?? ''));
}

/**
 * Settles every pending webhook job, so a test starts with an empty queue: the runner
 * claims every due webhook job, where the outbox once claimed by receiver URL.
 */
export async function settlePendingWebhooks(db: DB): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ done_at: new Date(), payload: null })
    .where('kind', '=', WEBHOOK_JOB_KIND)
    .where('done_at', 'is', null)
    .where('failed_at', 'is', null)
    .execute();
}
