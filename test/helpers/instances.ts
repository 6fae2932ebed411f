// Several `gatehouse serve` processes on one PostgreSQL database of their own and one
// Redis, as a deployment behind a load balancer runs them. They share the master key and
// PUBLIC_URL (so a token one issues is valid on all), and trust one proxy hop, so a test
// can speak for many clients through X-Forwarded-For: every request comes from a random
// address unless it names one, so only the budgets a test means to spend are spent.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testEngines, type TestDatabase } from './database.ts';
import { strongPassword } from './http.ts';
import { startServer, type ServerProcess } from './server-process.ts';
import { startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis.ts';

export interface Instances {
  /** Replaced in place by restart(), so a caller holding this array sees the new process. */
  readonly servers: readonly ServerProcess[];
  /** What every instance was started with (DATABASE_URL, GATEHOUSE_MASTER_KEY, ...), for the CLI too. */
  readonly env: Readonly<Record<string, string>>;
  /** The test's own database, for reads and for changes no instance hears of. */
  readonly database: TestDatabase;
  readonly admin: { readonly email: string; readonly password: string };
  /**
   * Stops instance `index` (SIGTERM: it drains what it is answering), checks it ended
   * cleanly, and starts it again on the same port with `env` on top of the shared one,
   * as an operator rolls a configuration change through a deployment.
   */
  readonly restart: (index: number, env?: Record<string, string>) => Promise<ServerProcess>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown>;
  /** performance.now() when the answer was read. */
  readonly doneAt: number;
}

/** PostgreSQL for the instances to share, or null when DATABASE_URL_TEST is not set. */
export function postgresEngineForInstances(): ReturnType<typeof testEngines>[number] | null {
  return testEngines().find((engine) => engine.engine === 'postgres') ?? null;
}

/** A random address of 10/8, a client of its own. */
export function randomClientAddress(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

export async function call(server: ServerProcess, method: string, path: string, options: { token?: string; body?: unknown; from?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.from ?? randomClientAddress() };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  const response = await fetch(`${server.baseURL}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(10_000),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  const doneAt = performance.now();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), doneAt };
}

export async function logIn(server: ServerProcess, email: string, password: string): Promise<{ access: string; sessionId: string }> {
  const reply = await call(server, 'POST', '/v1/auth/login', { body: { email, password } });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  const access = String(reply.json['access_token']);
  const claims = JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
  return { access, sessionId: String(claims.sid) };
}

/**
 * Waits until `request` is refused on `server` and returns how long after `since` (a
 * performance.now() time) the first refusal was read. Asks back to back: each answer
 * takes a few milliseconds.
 */
export async function refusedAfter(server: ServerProcess, since: number, request: () => Promise<Reply>, refused: (reply: Reply) => boolean, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const reply = await request();
    if (refused(reply)) return reply.doneAt - since;
    if (performance.now() > deadline) assert.fail(`${server.baseURL}: still ${reply.status} after ${timeoutMs} ms`);
  }
}

/**
 * The per-instance caches keep an answer for up to one second from when it was read. To
 * measure how fast a change reaches another instance rather than how old its entry
 * happened to be, entries are let expire and read again just before the change: without
 * the broadcast, each would then be served for most of a second.
 */
export async function warm(servers: readonly ServerProcess[], request: (server: ServerProcess) => Promise<Reply>, expected: number): Promise<void> {
  for (const server of servers) assert.equal((await request(server)).status, expected);
  await sleep(1_100);
  for (const server of servers) assert.equal((await request(server)).status, expected);
}

export async function startInstances(options: { count: number; redisURL: string | null; env?: Record<string, string> }): Promise<Instances> {
  const engine = postgresEngineForInstances();
  if (engine === null) throw new Error('DATABASE_URL_TEST is not set');
  const database = await engine.open();
  const secrets = await mkdtemp(join(tmpdir(), 'gh-instances-'));
  const servers: ServerProcess[] = [];
  const admin = { email: `admin.${randomBytes(4).toString('hex')}@example.test`, password: strongPassword() };
  // Read through a function: the restart asks again after an await, when close() may have run.
  const state = { closed: false };
  const closed = (): boolean => state.closed;
  const close = async (): Promise<void> => {
    state.closed = true;
    await Promise.all(servers.map((server) => server.stop()));
    await database.cleanup();
    await rm(secrets, { recursive: true, force: true });
  };
  const env: Record<string, string> = {
    DATABASE_URL: database.url ?? '',
    GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}`,
    PUBLIC_URL: 'http://localhost:8080',
    TRUST_PROXY: '1',
    MFA_REQUIRED_ROLES: 'none',
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '100000',
    AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000',
    ...(options.redisURL === null ? {} : { REDIS_URL: options.redisURL }),
    ...options.env,
  };
  try {
    await writeFile(join(secrets, 'admin-password'), `${admin.password}\n`, { mode: 0o600 });
    // The first creates the signing keys, roles and the admin; the others find them.
    servers.push(await startServer({ env: { ...env, BOOTSTRAP_ADMIN_EMAIL: admin.email, BOOTSTRAP_ADMIN_PASSWORD_FILE: join(secrets, 'admin-password') }, until: 'ready' }));
    const others = await Promise.allSettled(Array.from({ length: options.count - 1 }, () => startServer({ env, until: 'ready' })));
    for (const started of others) {
      if (started.status === 'fulfilled') servers.push(started.value);
    }
    const failed = others.find((started) => started.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } catch (error) {
    await close();
    throw error;
  }
  const restart = async (index: number, overrides: Record<string, string> = {}): Promise<ServerProcess> => {
    const old = servers[index];
    if (old === undefined) throw new RangeError(`no instance ${index}`);
    if (closed()) throw new Error('the instances are closed');
    const exit = await old.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `instance ${index} did not stop cleanly:\n${old.output.slice(-3000)}`);
    assert.doesNotMatch(old.output, /Unhandled 'error' event|uncaught|unhandled/i, old.output.slice(-3000));
    const port = Number(new URL(old.baseURL).port);
    const started = await startServer({ env: { ...env, ...overrides }, port, until: 'ready' });
    // A test that timed out may still be restarting after the suite closed: leave nothing running.
    if (closed()) {
      await started.stop();
      throw new Error('the instances were closed during the restart');
    }
    servers[index] = started;
    return started;
  };
  return { servers, env, database, admin, restart, close };
}

export interface Cluster {
  readonly servers: readonly ServerProcess[];
  readonly env: Instances['env'];
  readonly restart: Instances['restart'];
  readonly database: TestDatabase;
  /** The redis-server of the suite's own, to kill and restart. */
  readonly redis: ThrowawayRedis;
  /** The bootstrap admin's access token (issued by instance 1). */
  readonly admin: string;
  /** A verified account the admin made on instance 1, with `roles`. */
  account(roles?: string[]): Promise<{ id: string; email: string; password: string }>;
}

/**
 * `count` instances on a redis-server of the suite's own (no other test's budgets or
 * messages mix in), started before the suite and stopped after it, each checked to have
 * neither crashed nor logged an unhandled error.
 */
export function instancesPerSuite(options: { count: number; env?: Record<string, string> }): () => Cluster {
  let cluster: Cluster | null = null;
  let redis: ThrowawayRedis | null = null;
  let instances: Instances | null = null;
  before(async () => {
    redis = await startThrowawayRedis();
    instances = await startInstances({ count: options.count, redisURL: redis.url, ...(options.env === undefined ? {} : { env: options.env }) });
    const first = instances.servers[0];
    assert.ok(first !== undefined);
    const admin = (await logIn(first, instances.admin.email, instances.admin.password)).access;
    cluster = {
      servers: instances.servers,
      env: instances.env,
      restart: instances.restart,
      database: instances.database,
      redis,
      admin,
      async account(roles = []) {
        const email = `user.${randomBytes(6).toString('hex')}@example.test`;
        const password = strongPassword();
        const created = await call(first, 'POST', '/v1/admin/users', { token: admin, body: { email, password, email_verified: true, roles } });
        assert.equal(created.status, 201, JSON.stringify(created.json));
        return { id: String(created.json['id']), email, password };
      },
    };
  }, { timeout: 90_000 });
  after(async () => {
    for (const server of instances?.servers ?? []) server.assertAlive();
    await instances?.close();
    await redis?.stop();
  });
  return () => {
    if (cluster === null) throw new Error('the instances are not started');
    return cluster;
  };
}
