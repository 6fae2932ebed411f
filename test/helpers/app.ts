// Builds a real app for tests: development config from an explicit env (never the
// process's), an in-memory PGlite unless a database is given, and a logger whose lines
// are captured so tests can assert on what was (and was not) logged.
import { Writable } from 'node:stream';
import { after } from 'node:test';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { systemClock, type Clock } from '../../src/core/clock.ts';
import type { Database } from '../../src/core/db/database.ts';
import { createLogger } from '../../src/core/logging.ts';
import { randomBytes } from 'node:crypto';
import { createKeyring, type Keyring } from '../../src/core/crypto/keyring.ts';
import { getOrCreateSystemKey } from '../../src/core/crypto/system-keys.ts';
import type { MailMessage } from '../../src/features/mail/mailer.ts';
import type { JobRunnerTuning } from '../../src/core/jobs/runner.ts';
import type { WebhookTuning } from '../../src/features/webhooks/handler.ts';
import { createServices, type Services } from '../../src/services.ts';
import { openPGliteClone } from './database.ts';
import assert from 'node:assert/strict';
import { ensureWebBuild } from '../../src/web/build.ts';
import { WEB_ROOT } from '../../src/web/source-hash.ts';
import type { RedisClient } from '../../src/core/redis.ts';

export interface TestApp {
  readonly app: App;
  readonly config: Config;
  readonly database: Database;
  /** Every log line written so far, raw. */
  readonly logs: string[];
  readonly services: Services;
  readonly keyring: Keyring;
  /** Set when started with `listen: true`: the real server's base URL on 127.0.0.1. */
  readonly baseURL: string;
  /** Every mail "sent", in order. */
  readonly mails: MailMessage[];
  /** Waits for after-response work (registration, recovery, mail) to finish. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  readonly database?: Database;
  readonly redis?: RedisClient | null;
  readonly clock?: Clock;
  /** Register extra routes before the app is ready. */
  readonly routes?: (app: App) => void;
  /** Listen on 127.0.0.1 on a free port, for tests over real HTTP. */
  readonly listen?: boolean;
  /** With `listen`: this port instead of any free one (a browser app's PUBLIC_URL must name it). */
  readonly port?: number;
  /** Defaults to cheap argon2id parameters; pass the production ones where cost matters. */
  readonly passwordHashing?: { memoryKiB: number; passes: number; parallelism: number };
  /** Shorter job-runner intervals and webhook timeout, e.g. FAST_WEBHOOKS. */
  readonly webhookTuning?: Partial<JobRunnerTuning & WebhookTuning>;
  /** False leaves jobs (webhooks, mail) queued, as while no server runs; they run when started. */
  readonly startWebhooks?: boolean;
  /** Serve the browser app built into this folder (web/dist), as `gatehouse serve` does. */
  readonly webApp?: { readonly dist: string };
  /** Changes the loaded configuration, for a value that the environment cannot give here (e.g. WORKERS on PGlite). */
  readonly config?: (config: Config) => Config;
}

export function captureLines(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
}

let shared: Promise<Database> | null = null;
// Registered as the file is loaded, so it is a hook of the whole file (not of whichever
// test first asked for the database): closed after the file's last test.
after(async () => {
  await (await shared)?.close();
});
// One master key per test process, so apps sharing the database can read each other's keys.
const testMasterKey = randomBytes(32);

/** GATEHOUSE_MASTER_KEY for a server process that shares a database with this process's test apps. */
export function testMasterKeyEnv(): string {
  return `test:${testMasterKey.toString('base64url')}`;
}

/** One migrated in-memory PGlite per test file, shared by its apps: even a clone costs a second. */
export function sharedTestDatabase(): Promise<Database> {
  shared ??= openPGliteClone();
  return shared;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const loaded = loadConfig({ GATEHOUSE_ENV: 'development', LOG_LEVEL: 'info', ...options.env });
  const config = options.config?.(loaded) ?? loaded;
  const logs: string[] = [];
  const log = createLogger({ level: config.logLevel, destination: captureLines(logs) });
  const database = options.database ?? (await sharedTestDatabase());
  const clock = options.clock ?? systemClock;
  const redis = options.redis ?? null;
  const keyring = createKeyring([{ id: 'test', key: testMasterKey }]);
  const mails: MailMessage[] = [];
  const services = await createServices({
    config,
    database,
    redis,
    keyring,
    auditKey: await getOrCreateSystemKey(database.db, keyring, 'audit-chain'),
    log,
    clock,
    passwordHashing: options.passwordHashing ?? { memoryKiB: 1024, passes: 1, parallelism: 1 },
    mailTransport: async (message) => {
      mails.push({ to: message.to, subject: message.subject, text: message.text });
    },
    ...(options.webhookTuning === undefined ? {} : { jobTuning: options.webhookTuning, webhookTuning: options.webhookTuning }),
  });
  const app = await buildApp({ config, log, database, redis, clock, services, ...(options.webApp === undefined ? {} : { webApp: options.webApp }) });
  options.routes?.(app);
  await app.ready();
  const baseURL = options.listen === true ? await app.listen({ host: '127.0.0.1', port: options.port ?? 0 }) : '';
  if (options.startWebhooks !== false) services.jobs.start();
  return {
    app,
    config,
    database,
    logs,
    services,
    keyring,
    mails,
    baseURL,
    async settle() {
      // Runs jobs until none is due: an account job enqueues the mail it sends.
      while ((await services.jobs.runDue()) > 0);
    },
    async close() {
      await app.close();
      await services.jobs.stop();
    },
  };
}

/** web/dist, built if stale: fresh after `npm test`'s global setup, built here when a file runs alone. */
export async function builtWebApp(): Promise<{ readonly dist: string }> {
  const outcome = await ensureWebBuild({ root: WEB_ROOT, log: createLogger({ level: 'warn' }) });
  assert.ok(outcome.dist !== null, `the web app is not built: ${outcome.status}`);
  return { dist: outcome.dist };
}
