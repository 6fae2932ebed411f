// PostgreSQL going away under a running server: backends terminated (a failover, an
// operator), the server stopped, a fast restart. The server runs as a child process, as
// in production, so an unhandled 'error' event really ends it; its own throwaway cluster
// takes the faults, never the shared one. The server must stay up, never answer 500,
// answer 503 with Retry-After while the database is unreachable, and recover by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { MAIN, startServer, type Answer, type ServerProcess } from '../helpers/server-process.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.ts';

const EMAIL = 'fault@example.test';
const PASSWORD = `correct horse ${randomBytes(6).toString('hex')} battery staple`;

interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** Statuses seen under load, and every answer the server must never give. */
class Tally {
  readonly statuses = new Map<number, number>();
  readonly wrong: string[] = [];

  record(what: string, answer: Answer): void {
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    const acceptable = (answer.status >= 200 && answer.status < 500) || answer.status === 503;
    if (!acceptable) this.wrong.push(`${what}: ${answer.status} ${String(answer.code)}`);
    if (answer.status === 503 && (answer.code !== 'service_unavailable' || answer.retryAfter === null)) {
      this.wrong.push(`${what}: 503 ${String(answer.code)} retry-after ${String(answer.retryAfter)}`);
    }
  }

  fail(what: string, error: unknown): void {
    this.wrong.push(`${what}: ${error instanceof Error ? `${error.name} ${error.message} ${String((error.cause as Error | undefined)?.message)}` : 'failed'}`);
  }

  get total(): number {
    return [...this.statuses.values()].reduce((sum, count) => sum + count, 0);
  }

  assertClean(): void {
    assert.deepEqual(this.wrong.slice(0, 20), [], `statuses ${JSON.stringify([...this.statuses])}`);
    assert.ok(this.total > 20, `too little load to prove anything: ${JSON.stringify([...this.statuses])}`);
  }
}

/**
 * Workers that each hold a session and keep the pool busy: refresh (a transaction),
 * GET /v1/me/sessions, and logins with wrong passwords, until `signal` aborts.
 */
async function runLoad(server: ServerProcess, tally: Tally, signal: AbortSignal, workers = 6): Promise<void> {
  async function worker(index: number): Promise<void> {
    let tokens: Tokens | null = null;
    let step = index;
    while (!signal.aborted) {
      step += 1;
      try {
        if (tokens === null) {
          const login = await server.request('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
          tally.record('login', login);
          if (login.status === 200) tokens = login.json as unknown as Tokens;
          else await sleep(50);
        } else if (step % 3 === 0) {
          const refresh = await server.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } });
          tally.record('refresh', refresh);
          // A refresh whose answer was lost may have rotated the token: start a new session.
          if (refresh.status === 200) tokens = refresh.json as unknown as Tokens;
          else tokens = null;
        } else if (step % 3 === 1) {
          tally.record('sessions', await server.request('GET', '/v1/me/sessions', { token: tokens.access_token }));
        } else {
          const email = `nobody.${randomBytes(6).toString('hex')}@example.test`;
          tally.record('wrong login', await server.request('POST', '/v1/auth/login', { body: { email, password: 'not the password at all' } }));
        }
      } catch (error) {
        tally.fail('request', error);
        await sleep(100);
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
}

/** Polls a fresh login until it succeeds; returns how long recovery took. */
async function waitRecovered(server: ServerProcess, withinMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < withinMs) {
    try {
      const login = await server.request('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
      if (login.status === 200) {
        const tokens = login.json as unknown as Tokens;
        const refresh = await server.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } });
        const sessions = await server.request('GET', '/v1/me/sessions', { token: tokens.access_token });
        if (refresh.status === 200 && sessions.status === 200) return Date.now() - started;
        last = `refresh ${refresh.status}, sessions ${sessions.status}`;
      } else {
        last = `login ${login.status} ${String(login.code)}`;
      }
    } catch (error) {
      last = error instanceof Error ? error.message : 'failed';
    }
    await sleep(200);
  }
  assert.fail(`not recovered within ${withinMs} ms: ${last}`);
}

/**
 * /readyz reuses its answer for up to 1 s (a probe flood costs one check a second), so an
 * answer from before the change may be served that long: ask until it turns, for 2 s.
 */
async function readinessSettled(server: ServerProcess, expected: number): Promise<Answer> {
  let ready = await server.request('GET', '/readyz');
  for (const deadline = Date.now() + 2_000; ready.status !== expected && Date.now() < deadline; ) {
    await sleep(100);
    ready = await server.request('GET', '/readyz');
  }
  return ready;
}

describe('PostgreSQL connection loss', { timeout: 150_000 }, () => {
  // Undefined until `before` made them, so `after` cleans up whatever a failed start left.
  let cluster: ThrowawayPostgres | undefined;
  let dataDir: string | undefined;
  let env: Record<string, string>;
  // Each test starts its own server, so one that crashed cannot take the next test with it.
  let server: ServerProcess | undefined;

  before(async () => {
    cluster = await startThrowawayPostgres();
    dataDir = await mkdtemp(join(tmpdir(), 'gh-pgfault-'));
    env = {
      PATH: process.env['PATH'] ?? '',
      GATEHOUSE_ENV: 'development',
      DATA_DIR: dataDir,
      DATABASE_URL: cluster.url,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '100000',
      AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000',
      // Six workers log in to one account at once, and an attempt cut off by the fault keeps
      // its reservation: with the default threshold the account would lock mid-test.
      LOCKOUT_THRESHOLD: '100',
    };
    const created = spawn(process.execPath, [MAIN, 'users', 'create', '--email', EMAIL], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    created.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    created.stdin.end(`${PASSWORD}\n`);
    const code = await new Promise((resolve) => created.on('exit', resolve));
    assert.equal(code, 0, stderr);
  });

  beforeEach(async () => {
    server = await startServer({ env, until: 'ready' });
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  after(async () => {
    await cluster?.destroy();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  function current(): { server: ServerProcess; cluster: ThrowawayPostgres } {
    if (server === undefined || cluster === undefined) throw new Error('no server');
    return { server, cluster };
  }

  it('survives pg_terminate_backend of its connections under load', { timeout: 40_000 }, async (t) => {
    const { server, cluster } = current();
    const tally = new Tally();
    const load = new AbortController();
    const running = runLoad(server, tally, load.signal);
    let ended = 0;
    try {
      for (let round = 0; round < 8; round += 1) {
        await sleep(400);
        ended += await cluster.terminateBackends();
      }
    } finally {
      load.abort();
      await running;
    }
    server.assertAlive();
    t.diagnostic(`statuses ${JSON.stringify([...tally.statuses])}, backends terminated ${ended}`);
    tally.assertClean();
    assert.ok(ended > 0, 'no backend was terminated');
    t.diagnostic(`recovered in ${await waitRecovered(server, 5_000)} ms`);
    server.assertAlive();
  });

  it('answers 503 with Retry-After while PostgreSQL is down, and recovers', { timeout: 40_000 }, async (t) => {
    const { server, cluster } = current();
    const login = await server.request('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } });
    assert.equal(login.status, 200);
    const tokens = login.json as unknown as Tokens;
    await cluster.stop('fast');
    const attemptMs: number[] = [];
    try {
      const attempts = [
        await server.request('POST', '/v1/auth/login', { body: { email: EMAIL, password: PASSWORD } }),
        await server.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } }),
        await server.request('GET', '/v1/me/sessions', { token: tokens.access_token }),
        await server.request('POST', '/v1/auth/login', { body: { email: 'nobody@example.test', password: 'not the password at all' } }),
        // A 202 means the request was saved (its job committed): while nothing can be
        // saved, registration and recovery say so instead of acknowledging into the void.
        await server.request('POST', '/v1/auth/register', { body: { email: 'newcomer@example.test', password: PASSWORD } }),
        await server.request('POST', '/v1/auth/password/forgot', { body: { email: EMAIL } }),
      ];
      attemptMs.push(...attempts.map((answer) => answer.ms));
      for (const answer of attempts) {
        assert.equal(answer.status, 503, JSON.stringify(answer));
        assert.equal(answer.code, 'service_unavailable');
        assert.equal(answer.json['type'], 'urn:gatehouse:problem:service_unavailable');
        assert.match(answer.retryAfter ?? '', /^[1-5]$/);
        // Refused connections fail fast; a hung one is bounded by connectionTimeoutMillis.
        assert.ok(answer.ms < 6_000, `took ${answer.ms} ms`);
      }
      assert.equal((await server.request('GET', '/healthz')).status, 200);
      const ready = await readinessSettled(server, 503);
      assert.equal(ready.status, 503);
      assert.equal(ready.code, 'service_unavailable');
      // The warning names the request and the kind of failure, never the connection URL.
      assert.match(server.output, /"level":"warn"[^\n]*"request_id"[^\n]*database unavailable/);
      assert.ok(!server.output.includes('postgres://'));
    } finally {
      await cluster.start();
    }
    t.diagnostic(`answered in ${JSON.stringify(attemptMs)} ms while down; recovered in ${await waitRecovered(server, 5_000)} ms`);
    assert.equal((await readinessSettled(server, 200)).status, 200);
    server.assertAlive();
  });

  it('PostgreSQL stopped for 5 s under load: only 503 with Retry-After, /readyz false then true, service back within 5 s', { timeout: 60_000 }, async (t) => {
    const { server, cluster } = current();
    const tally = new Tally();
    const load = new AbortController();
    const running = runLoad(server, tally, load.signal);
    // /readyz asked every 250 ms throughout: the statuses it went through, in order.
    const readiness: number[] = [];
    const probing = (async () => {
      while (!load.signal.aborted) {
        const status = (await server.request('GET', '/readyz').catch(() => null))?.status ?? 0;
        if (readiness.at(-1) !== status) readiness.push(status);
        await sleep(250);
      }
    })();
    let downFor = 0;
    let recoveredMs = 0;
    const during = new Tally();
    try {
      await sleep(1_000);
      const stopped = Date.now();
      await cluster.stop('fast');
      // While it is down, a second tally counts what clients were told.
      const duringLoad = new AbortController();
      const duringRun = runLoad(server, during, duringLoad.signal, 2);
      await sleep(5_000);
      duringLoad.abort();
      await duringRun;
      await cluster.start();
      downFor = Date.now() - stopped;
      recoveredMs = await waitRecovered(server, 5_000);
      await sleep(1_500);
    } finally {
      load.abort();
      await running;
      await probing;
    }
    server.assertAlive();
    t.diagnostic(`down ${downFor} ms; statuses under load ${JSON.stringify([...tally.statuses])}, while down ${JSON.stringify([...during.statuses])}; /readyz went ${readiness.join(' → ')}; a full login, refresh and read ${recoveredMs} ms after PostgreSQL was back`);
    tally.assertClean();
    assert.deepEqual(during.wrong.slice(0, 20), []);
    assert.ok((during.statuses.get(503) ?? 0) > 0, `no 503 while the database was down: ${JSON.stringify([...during.statuses])}`);
    assert.equal(during.statuses.get(500) ?? 0, 0);
    // Ready before, not ready while down, ready again after.
    assert.deepEqual([readiness[0], readiness.includes(503), readiness.at(-1)], [200, true, 200], readiness.join(' → '));
    assert.ok(recoveredMs <= 5_000);
  });

  it('survives a fast PostgreSQL restart under load', { timeout: 40_000 }, async (t) => {
    const { server, cluster } = current();
    const tally = new Tally();
    const load = new AbortController();
    const running = runLoad(server, tally, load.signal);
    try {
      // A clean fast stop, a crash (immediate), and a fast one again, each while requests
      // hold connections; the pool must reconnect after each without being told.
      for (const mode of ['fast', 'immediate', 'fast'] as const) {
        await sleep(700);
        await cluster.stop(mode);
        await cluster.start();
      }
      await sleep(500);
    } finally {
      load.abort();
      await running;
    }
    server.assertAlive();
    t.diagnostic(`statuses ${JSON.stringify([...tally.statuses])}`);
    tally.assertClean();
    t.diagnostic(`recovered in ${await waitRecovered(server, 5_000)} ms`);
    server.assertAlive();
  });
});
