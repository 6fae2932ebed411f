// The server under test, run as a child process of bench/auth.ts so its memory and CPU
// are its own: the real wiring (createServices + buildApp, production Argon2id cost,
// request logging at info), and beside it a bare Fastify instance for comparison.
// Not meant to be started by hand; the parent drives it over IPC (protocol.ts).
import { rm } from 'node:fs/promises';
import { flushCompileCache } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import Fastify, { type FastifyInstance } from 'fastify';
import { systemClock } from '../../src/core/clock.ts';
import { insertUser } from '../../src/features/users/repo.ts';
import type { App } from '../../src/app.ts';
import type { Database } from '../../src/core/db/database.ts';
import type { Services } from '../../src/services.ts';
import { buildBenchApp } from './bench-app.ts';
import { isParentMessage, type ChildMessage, type ParentMessage, type ServerMemory, type StartMessage } from './protocol.ts';

interface Running {
  readonly app: App;
  readonly bare: FastifyInstance;
  readonly services: Services;
  readonly database: Database;
  readonly dataDir: string;
  setBareBody(body: unknown): void;
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, () => { resolve(); });
  });
}

// Argon2id's smallest cost (8 KiB, one pass): a hash of a few microseconds.
const MINIMAL_HASH_COST = { memoryKiB: 8, passes: 1, parallelism: 1 };

// Zero-padded, so every user's /v1/me body has the same length.
const padded = (index: number): string => String(index).padStart(5, '0');
const benchEmail = (index: number): string => `bench.user.${padded(index)}@example.test`;

async function createUsers(services: Services, count: number, password: string): Promise<string[]> {
  // One production-cost hash shared by every account: verifying costs the same whatever
  // the salt, and hashing 200 passwords would add seconds of setup per engine.
  const passwordHash = await services.auth.passwords.hash(password);
  const crypto = { keyring: services.auth.keyring, blindIndex: services.auth.blindIndex };
  const emails = Array.from({ length: count }, (_, index) => benchEmail(index));
  const batch = 8;
  for (let start = 0; start < emails.length; start += batch) {
    await Promise.all(
      emails.slice(start, start + batch).map(async (email, offset) => {
        const id = await insertUser(services.auth.db, crypto, { email, name: `Bench User ${padded(start + offset)}`, passwordHash, emailVerified: true, now: new Date() });
        if (id === null) throw new Error(`user ${email} already exists`);
      }),
    );
  }
  return emails;
}

async function startBare(): Promise<{ bare: FastifyInstance; url: string; setBody: (body: unknown) => void }> {
  let body: unknown = {};
  const bare = Fastify({ logger: false });
  bare.get('/bare', async () => body);
  const url = await bare.listen({ host: '127.0.0.1', port: 0 });
  return { bare, url, setBody: (next) => { body = next; } };
}

async function start(message: StartMessage): Promise<Running> {
  const started = performance.now();
  const env: Record<string, string> = { GATEHOUSE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: message.dataDir, ...message.env };
  if (message.databaseURL !== null) env['DATABASE_URL'] = message.databaseURL;
  const { config, database, services, app } = await buildBenchApp(env, systemClock, message.minimalHashCost ? MINIMAL_HASH_COST : undefined);
  const appURL = await app.listen({ host: '127.0.0.1', port: 0 });
  const { bare, url: bareURL, setBody } = await startBare();
  const emails = await createUsers(services, message.users, message.password);
  // What this process compiled goes to the cache now (server-process.ts turns it on), so
  // the next run's server imports it compiled, as a `gatehouse serve` does after its first
  // start, and does not load the type stripper.
  flushCompileCache();
  await send({
    type: 'ready',
    appURL,
    bareURL,
    emails,
    setupMs: Math.round(performance.now() - started),
    poolMax: config.database.engine === 'postgres' ? config.database.poolMax : null,
    threadpoolSize: Number(process.env['UV_THREADPOOL_SIZE'] ?? '4'),
    typeStripperLoaded: typeStripperLoaded(),
  });
  return { app, bare, services, database, dataDir: message.dataDir, setBareBody: setBody };
}

function typeStripperLoaded(): boolean {
  const list: unknown = Reflect.get(process, 'moduleLoadList');
  return Array.isArray(list) && list.some((entry) => typeof entry === 'string' && entry.includes('internal/deps/amaro'));
}

function collectGarbage(): boolean {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  if (typeof gc !== 'function') return false;
  Reflect.apply(gc, globalThis, []);
  return true;
}

function memory(): ServerMemory {
  const usage = process.memoryUsage();
  const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const space = (name: string): number => mb(getHeapSpaceStatistics().find((entry) => entry.space_name === name)?.space_size ?? 0);
  return {
    rss: mb(usage.rss),
    heapTotal: mb(usage.heapTotal),
    heapUsed: mb(usage.heapUsed),
    external: mb(usage.external),
    arrayBuffers: mb(usage.arrayBuffers),
    newSpace: space('new_space'),
    oldSpace: space('old_space'),
    // Read after the figures above, which stay as the load left them.
    liveHeapAfterGC: collectGarbage() ? mb(process.memoryUsage().heapUsed) : null,
  };
}

async function stop(running: Running | null): Promise<void> {
  if (running !== null) {
    await running.bare.close();
    await running.app.close();
    await running.services.jobs.stop();
    await running.database.close();
    await rm(running.dataDir, { recursive: true, force: true });
  }
  await send({ type: 'ack' });
  // Exits through the 'disconnect' handler below, normally, so --cpu-prof writes its profile.
  process.disconnect();
}

let running: Running | null = null;

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'start':
      running = await start(message);
      return;
    case 'bare-body':
      running?.setBareBody(message.body);
      await send({ type: 'ack' });
      return;
    case 'memory':
      await send({ type: 'memory', memory: memory() });
      return;
    case 'stop':
      await stop(running);
      running = null;
      return;
  }
}

// Ctrl-C reaches the whole process group: the parent stops this server in order.
process.on('SIGINT', () => {});
// The parent went away (finished, or killed): never outlive it.
process.once('disconnect', () => {
  process.exit();
});

process.on('message', (message: unknown) => {
  if (!isParentMessage(message)) return;
  handle(message).catch(async (error: unknown) => {
    process.exitCode = 1;
    await send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.disconnect();
  });
});
