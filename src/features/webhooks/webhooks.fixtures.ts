// For webhook tests: a receiver on loopback that records every request, answers with the
// statuses it is told to (204 by default), can hang or redirect, and lets a test wait,
// with a bound, for the n-th request; and the observer and dispatcher wired on a database.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLines } from '../../../test/helpers/app.ts';
import { createChainHeadCache } from '../../core/audit/append.ts';
import { generateAuditKey } from '../../core/audit/audit.fixtures.ts';
import { createAuditor, type Auditor } from '../../core/audit/auditor.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging.ts';
import type { WebhookDispatcher, WebhookFailure, WebhookTuning } from './dispatcher.ts';
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

export interface WebhookRig {
  readonly dispatcher: WebhookDispatcher;
  readonly logs: string[];
  readonly failures: WebhookFailure[];
  readonly secret: string;
  /** The auditor wired to the observer, for tests that record inside their own transaction. */
  readonly auditor: Auditor;
  /** Records an `auth.locked` event (a webhook) in its own transaction; returns its audit id. */
  recordLock(): Promise<string>;
}

/**
 * The observer and a dispatcher as the server wires them, on `db`, for `urls`, with a
 * logger that captures its lines. Several rigs on one database act as several instances.
 */
export function webhookRig(db: DB, options: { readonly urls: readonly string[]; readonly clock: Clock; readonly tuning?: Partial<WebhookTuning>; readonly secret?: string }): WebhookRig {
  const logs: string[] = [];
  const failures: WebhookFailure[] = [];
  const secret = options.secret ?? testWebhookSecret();
  const log = createLogger({ level: 'info', destination: captureLines(logs) });
  const webhooks = createSecurityWebhooks({
    db,
    clock: options.clock,
    log,
    config: { urls: options.urls, secret },
    tuning: { ...FAST_WEBHOOKS, ...options.tuning },
    onFailure: (failure) => failures.push(failure),
  });
  if (webhooks === null) throw new Error('webhooks need urls');
  const auditor = createAuditor({ key: generateAuditKey(), clock: options.clock, headCache: createChainHeadCache(), observers: [webhooks.observer] });
  return {
    dispatcher: webhooks.dispatcher,
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
