// Redis outages, for real: `gatehouse serve` runs as a child process against a
// redis-server of this test's own (127.0.0.1, a free port), which is killed, frozen and
// restarted under it. Starting a server (PGlite on disk, migrations) takes seconds, so
// each group of tests shares one, and each test first brings Redis to the state it needs. What must hold: liveness never depends on Redis; every route that
// needs a limiter refuses (never lets requests through uncounted) with a fast 503 and
// Retry-After; readiness names Redis; logs stay structured JSON without the password;
// and service comes back by itself when Redis does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.ts';
import { waitFor } from '../helpers/wait-for.ts';

// A refusal counts as fast below this; ioredis' retries and offline queue took 0.5–6 s.
const FAST_MS = 1_000;

interface Answer {
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  /** performance.now() when the request was sent and when its answer was read. */
  readonly sentAt: number;
  readonly doneAt: number;
  readonly contentType: string;
  readonly retryAfter: string | null;
  readonly code: string | null;
}

async function call(server: ServerProcess, method: 'GET' | 'POST', path: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${server.baseURL}${path}`, {
    method,
    ...(method === 'POST'
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `nobody-${randomBytes(6).toString('hex')}@example.test`, password: 'not the right password at all' }) }
      : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const doneAt = performance.now();
  const ms = doneAt - started;
  let code: string | null = null;
  try {
    const body = JSON.parse(text) as { code?: unknown };
    code = typeof body.code === 'string' ? body.code : null;
  } catch {
    code = null;
  }
  return { path, status: response.status, ms, sentAt: started, doneAt, contentType: response.headers.get('content-type') ?? '', retryAfter: response.headers.get('retry-after'), code };
}

const jwks = (server: ServerProcess): Promise<Answer> => call(server, 'GET', '/.well-known/jwks.json');
const login = (server: ServerProcess): Promise<Answer> => call(server, 'POST', '/v1/auth/login');
const unknownPath = (server: ServerProcess): Promise<Answer> => call(server, 'GET', '/no-such-path');

function assertFastRefusal(answer: Answer): void {
  const where = `${answer.path}: ${answer.status} ${answer.code ?? ''} in ${answer.ms.toFixed(0)} ms`;
  assert.equal(answer.status, 503, where);
  assert.equal(answer.code, 'service_unavailable', where);
  assert.match(answer.contentType, /^application\/problem\+json/, where);
  assert.ok(Number(answer.retryAfter) >= 1, `${where}: Retry-After ${String(answer.retryAfter)}`);
  assert.ok(answer.ms < FAST_MS, `${where}: not fast`);
}

/** Every stdout line is a JSON object, nothing went to stderr from ioredis, and no line holds the password. */
function assertStructuredLogs(server: ServerProcess, password: string): void {
  for (const line of server.stdout) {
    assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
  }
  assert.doesNotMatch(server.stderr, /Unhandled error event|\[ioredis\]/, `stderr:\n${server.stderr}`);
  const leaked = [...server.stdout, server.stderr].filter((line) => line.includes(password));
  assert.deepEqual(leaked, [], 'the Redis password reached a log');
}

function redisLogLines(server: ServerProcess): Record<string, unknown>[] {
  return server.stdout
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry['component'] === 'redis');
}

const password = (): string => `fault-${randomBytes(12).toString('hex')}`;
// Budgets high enough that a 429 never hides what the store does.
const generousLimits = { RATE_LIMIT_MAX: '100000', AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000' };

async function whenReady(server: ServerProcess): Promise<void> {
  await waitFor('/readyz is 200', 10_000, async () => (await call(server, 'GET', '/readyz')).status === 200);
}

describe('a server started while Redis is unreachable', { timeout: 60_000 }, () => {
  const secret = password();
  let port = 0;
  let server: ServerProcess;
  let redis: ThrowawayRedis | null = null;
  before(async () => {
    // Nothing listens on this port yet: Redis is down from the first moment.
    port = await freePort();
    server = await startServer({ env: { ...generousLimits, REDIS_URL: `redis://:${secret}@127.0.0.1:${port}` } });
  }, { timeout: 40_000 });
  after(async () => {
    await server.stop();
    await redis?.stop();
  });

  it('a server started while Redis is unreachable answers /healthz 200 and limited routes 503 fast with Retry-After', { timeout: 20_000 }, async (t) => {
    for (let i = 0; i < 3; i += 1) {
      const health = await call(server, 'GET', '/healthz');
      assert.equal(health.status, 200, 'liveness must not depend on Redis');
      assert.ok(health.ms < FAST_MS, `/healthz took ${health.ms} ms`);
    }
    let slowest = 0;
    for (let i = 0; i < 5; i += 1) {
      for (const answer of [await jwks(server), await login(server), await unknownPath(server)]) {
        assertFastRefusal(answer);
        slowest = Math.max(slowest, answer.ms);
      }
    }
    t.diagnostic(`slowest 503 of 15: ${slowest.toFixed(1)} ms`);
    const ready = await call(server, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.code, 'service_unavailable');
    assert.ok(Number(ready.retryAfter) >= 1);
    assert.ok(ready.ms < FAST_MS, `/readyz took ${ready.ms} ms`);
    // Log lines reach the pipe asynchronously, possibly after the answer.
    await waitFor('the log names redis as the failing readiness check', 2_000, async () =>
      server.stdout.some((line) => line.includes('"readiness check failed"') && line.includes('"check":"redis"')),
    );
    assert.ok(server.running(), 'the server is still up');
    assertStructuredLogs(server, secret);
    // Reconnection attempts go on, but the log says so once, not once per attempt.
    const errors = redisLogLines(server).filter((entry) => entry['level'] === 'error' || entry['level'] === 'warn');
    assert.ok(errors.length >= 1, 'the outage is logged');
    assert.ok(errors.length <= 3, `the outage floods the log: ${errors.length} lines`);
  });

  it('recovers when Redis returns', { timeout: 30_000 }, async (t) => {
    // Redis appears for the first time on the port the server was given...
    redis = await startThrowawayRedis({ password: secret, port });
    let since = Date.now();
    await waitFor('the limited route answers 200', 10_000, async () => (await jwks(server)).status === 200);
    const firstMs = Date.now() - since;
    await whenReady(server);
    assert.equal((await login(server)).status, 401);

    // ...then dies, and comes back empty: the counting script must be loaded again by itself.
    await redis.kill();
    await waitFor('limited routes refuse', 5_000, async () => (await jwks(server)).status === 503);
    assertFastRefusal(await login(server));
    await waitFor('/readyz is 503', 3_000, async () => (await call(server, 'GET', '/readyz')).status === 503);
    since = Date.now();
    await redis.restart();
    await waitFor('the limited route answers 200 again', 10_000, async () => (await jwks(server)).status === 200);
    const againMs = Date.now() - since;
    await whenReady(server);
    assert.equal((await login(server)).status, 401);

    assert.ok(firstMs < 10_000 && againMs < 10_000, `recovered in ${firstMs} ms, then ${againMs} ms`);
    t.diagnostic(`recovered ${firstMs} ms after Redis first came up, ${againMs} ms after its restart began`);
    const restored = (): number => redisLogLines(server).filter((entry) => entry['msg'] === 'redis connection restored').length;
    await waitFor('each recovery is logged', 2_000, async () => restored() === 2);
    assert.ok(server.running());
    assertStructuredLogs(server, secret);
  });
});

describe('Redis failing under a running server', { timeout: 70_000 }, () => {
  const secret = password();
  let redis: ThrowawayRedis;
  let server: ServerProcess;
  before(async () => {
    redis = await startThrowawayRedis({ password: secret });
    server = await startServer({ env: { ...generousLimits, REDIS_URL: redis.url } });
  }, { timeout: 40_000 });
  after(async () => {
    await server.stop();
    await redis.stop();
  });
  const redisUp = async (): Promise<void> => {
    redis.thaw();
    if (!redis.running()) await redis.restart();
    await whenReady(server);
    assert.equal((await jwks(server)).status, 200);
  };

  it('Redis dying under traffic: no 500, no crash, structured logs only', { timeout: 30_000 }, async (t) => {
    await redisUp();
    const answers: Answer[] = [];
    let traffic = true;
    const worker = async (send: (server: ServerProcess) => Promise<Answer>): Promise<void> => {
      while (traffic) answers.push(await send(server));
    };
    const workers = [worker(jwks), worker(jwks), worker(unknownPath), worker(login)];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const killedAt = answers.length;
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    traffic = false;
    await Promise.all(workers);

    assert.ok(killedAt > 0 && answers.slice(0, killedAt).every((a) => a.status !== 503), 'traffic was served before the kill');
    const statuses = new Set(answers.map((a) => a.status));
    assert.ok(!statuses.has(500), `a 500 was answered: ${[...statuses].join(', ')}`);
    assert.deepEqual([...statuses].filter((s) => ![200, 401, 404, 503].includes(s)), [], 'unexpected statuses');
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length > 0, 'the outage was seen');
    for (const answer of refused) assertFastRefusal(answer);
    t.diagnostic(`${answers.length} answers, ${refused.length} of them 503; slowest 503: ${Math.max(...refused.map((a) => a.ms)).toFixed(1)} ms`);
    // Fail closed: a request sent once the outage showed is refused, never let through
    // uncounted (one sent before it may still finish, e.g. a login hashing its password).
    const firstRefusal = Math.min(...refused.map((a) => a.doneAt));
    const sentDuringOutage = answers.filter((a) => a.sentAt > firstRefusal);
    assert.ok(sentDuringOutage.length > 10);
    const through = sentDuringOutage.filter((a) => a.status !== 503).map((a) => `${a.path} ${a.status}`);
    assert.deepEqual(through, [], 'a request got through while Redis was down');
    assert.equal((await call(server, 'GET', '/healthz')).status, 200);
    assert.ok(server.running(), 'the server crashed');
    assertStructuredLogs(server, secret);
    assert.ok(redisLogLines(server).some((entry) => entry['level'] === 'error' || entry['level'] === 'warn'), 'the outage is logged');
  });

  it('a frozen Redis (connection open, no replies) still gets limited routes a 503 fast', { timeout: 30_000 }, async (t) => {
    await redisUp();
    const restored = (): number => redisLogLines(server).filter((entry) => entry['msg'] === 'redis connection restored').length;
    const restoredBefore = restored();
    redis.freeze();
    // Longer than the socket timeout (2 s), after which the silent connection is reopened.
    const frozenUntil = Date.now() + 3_000;
    let slowest = 0;
    while (Date.now() < frozenUntil) {
      for (const answer of await Promise.all([jwks(server), login(server), unknownPath(server)])) {
        assertFastRefusal(answer);
        slowest = Math.max(slowest, answer.ms);
      }
    }
    t.diagnostic(`slowest 503 while frozen: ${slowest.toFixed(1)} ms`);
    const health = await call(server, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.ok(health.ms < FAST_MS);
    await waitFor('/readyz is 503', 3_000, async () => {
      const ready = await call(server, 'GET', '/readyz');
      assert.ok(ready.ms < FAST_MS, `/readyz took ${ready.ms} ms`);
      return ready.status === 503;
    });
    redis.thaw();
    await waitFor('the limited route answers again', 10_000, async () => (await jwks(server)).status === 200);
    // Log lines reach the pipe asynchronously, possibly after the answer.
    await waitFor('the silent connection was dropped and opened again', 2_000, async () => restored() === restoredBefore + 1);
    assert.ok(server.running());
    assertStructuredLogs(server, secret);
  });
});
