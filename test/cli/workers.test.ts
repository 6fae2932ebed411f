// WORKERS > 1 as an operator runs it: `gatehouse serve` a real process on loopback, its
// workers forked with node:cluster, on a PostgreSQL database of the test's own. Which
// worker served a request is read from its log line (every worker line carries `worker`
// and `pid`); nothing in a response says it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresTestUrl, testEngines, withAdmin, type TestDatabase } from '../helpers/database.ts';
import { freePort, runCommand, startServer, type ServerProcess } from '../helpers/server-process.ts';

interface LogLine {
  readonly msg?: string;
  readonly pid?: number;
  readonly worker?: number;
  readonly route?: string;
  readonly pids?: number[];
  readonly signal?: string;
  readonly code?: number | null;
}

function lines(server: ServerProcess): LogLine[] {
  return server.stdout.map((line) => JSON.parse(line) as LogLine);
}

async function waitForLine(server: ServerProcess, match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = lines(server).find(match);
    if (found !== undefined) return found;
    server.assertAlive();
    if (Date.now() > deadline) throw new Error(`no such log line within ${timeoutMs} ms:\n${server.output.slice(-3000)}`);
    await sleep(50);
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request; `agent: false` opens a connection of its own, so the primary hands it to the next worker. */
function send(base: string, options: { method: string; path: string; json?: unknown; agent: Agent | false }): Promise<Reply> {
  const url = new URL(options.path, base);
  const body = options.json === undefined ? null : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: options.method, agent: options.agent, timeout: 20_000, headers: body === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        // 'end' only after the whole body: a reset mid-body is an 'error', not a reply.
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

describe('WORKERS on the embedded PGlite', () => {
  it('is refused at start, naming WORKERS and DATABASE_URL', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gh-workers-pglite-'));
    try {
      const result = await runCommand(['serve'], { env: { DATA_DIR: dataDir, WORKERS: '2', LOG_LEVEL: 'info' }, cwd: dataDir });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /WORKERS: must be 1 with the embedded PGlite database \(DATABASE_URL unset\)/);
      assert.equal(result.stdout, '', 'nothing started');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

// One server for the three tests below, in this order (starting one costs seconds of the
// shared CPU): two workers serve; one killed is replaced; SIGTERM drains both.
describe('WORKERS=2 on PostgreSQL', { skip: postgresTestUrl() === null ? 'DATABASE_URL_TEST is not set' : false }, () => {
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  let pids: number[] = [];
  let metricsPort = 0;
  let probeDir = '';

  before(async () => {
    const postgres = testEngines().find((engine) => engine.engine === 'postgres');
    assert.ok(postgres !== undefined);
    database = await postgres.open();
    assert.ok(database.url !== null);
    metricsPort = await freePort();
    probeDir = await mkdtemp(join(tmpdir(), 'gh-workers-modules-'));
    const probe = join(probeDir, 'probe.mjs');
    // Loaded first in every process of the tree (NODE_OPTIONS is inherited): as each exits,
    // it writes which packages it resolved, and which process of the tree it was.
    await writeFile(
      probe,
      [
        "import cluster from 'node:cluster';",
        "import { writeFileSync } from 'node:fs';",
        "import { registerHooks } from 'node:module';",
        'const seen = new Set();',
        "registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url); if (match !== null) seen.add(match[1]); return result; } });",
        "const role = cluster.isPrimary ? 'primary' : process.env.GATEHOUSE_CLUSTER_PREPARATION === '1' ? 'preparation' : 'worker';",
        `process.on('exit', () => { writeFileSync(${JSON.stringify(probeDir)} + '/modules-' + process.pid + '.json', JSON.stringify({ role, packages: [...seen] })); });`,
        '',
      ].join('\n'),
    );
    const env: Record<string, string> = {
      NODE_OPTIONS: `--import=${probe}`,
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: '4',
      WORKERS: '2',
      METRICS_PORT: String(metricsPort),
      // The load below is well inside these: what is measured is the shutdown.
      RATE_LIMIT_MAX: '100000',
      AUTH_RATE_LIMIT_MAX: '100000',
      AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000',
    };
    server = await startServer({ env, startTimeoutMs: 60_000 });
    const listening = await waitForLine(server, (line) => line.msg === 'workers listening', 60_000);
    pids = listening.pids ?? [];
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
  });

  after(async () => {
    await server.stop();
    await database?.cleanup();
    if (probeDir !== '') await rm(probeDir, { recursive: true, force: true });
  });

  it('serves requests from two different worker processes, and METRICS_PORT counts them all', async () => {
    for (let n = 0; n < 8; n += 1) {
      const reply = await send(server.baseURL, { method: 'GET', path: '/healthz', agent: false });
      assert.equal(reply.status, 200);
    }
    const served = new Set(lines(server).filter((line) => line.msg === 'request' && line.route === '/healthz').map((line) => line.pid));
    assert.deepEqual([...served].sort(), [...pids].sort(), 'both workers answered, and only they');
    assert.ok(!pids.includes(process.pid));
    // The primary sums the workers' registries: each worker alone counted about half.
    const counted = /gatehouse_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} (\d+)/;
    let scraped = '';
    for (let tries = 0; tries < 20 && counted.exec(scraped)?.[1] !== '8'; tries += 1) {
      if (tries > 0) await sleep(100);
      scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    }
    assert.equal(counted.exec(scraped)?.[1], '8', scraped.slice(0, 2000));
  });

  it('restarts a worker killed with SIGKILL, and requests keep succeeding meanwhile', async () => {
    const [victim, survivor] = pids;
    assert.ok(victim !== undefined && survivor !== undefined);
    process.kill(victim, 'SIGKILL');
    await waitForLine(server, (line) => line.msg === 'worker exited unexpectedly: restarting it' && line.pid === victim && line.signal === 'SIGKILL', 10_000);
    // While the replacement starts, the other worker takes every connection.
    let answered = 0;
    const deadline = Date.now() + 45_000;
    let replacement: LogLine | undefined;
    while (replacement === undefined) {
      const reply = await send(server.baseURL, { method: 'GET', path: '/readyz', agent: false });
      assert.equal(reply.status, 200, reply.body);
      answered += 1;
      replacement = lines(server).find((line) => line.msg === 'gatehouse listening' && line.pid !== undefined && !pids.includes(line.pid));
      assert.ok(Date.now() < deadline, `no replacement worker:\n${server.output.slice(-3000)}`);
      await sleep(100);
    }
    assert.ok(answered > 0);
    const fresh = replacement.pid;
    assert.ok(fresh !== undefined);
    pids = [survivor, fresh];
    // The replacement takes its share of new connections.
    for (let n = 0; n < 6; n += 1) assert.equal((await send(server.baseURL, { method: 'GET', path: '/healthz', agent: false })).status, 200);
    assert.ok(lines(server).some((line) => line.msg === 'request' && line.pid === fresh), 'the new worker serves');
    server.assertAlive();
  });

  it('on SIGTERM under load, answers every request already being served, and exits 0', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    // Logins of unknown accounts: each spends an Argon2id hash (tens of milliseconds), so
    // several are being served at any moment. Each is answered 401 in full, or fails.
    interface Sent { readonly at: number; outcome: 'answered' | 'failed' | null; status: number | null; doneAt: number }
    const sent: Sent[] = [];
    let signalledAt = Number.POSITIVE_INFINITY;
    const client = async (): Promise<void> => {
      while (performance.now() < signalledAt) {
        const entry: Sent = { at: performance.now(), outcome: null, status: null, doneAt: Number.NaN };
        sent.push(entry);
        try {
          const reply = await send(server.baseURL, { method: 'POST', path: '/v1/auth/login', json: { email: `nobody.${randomBytes(6).toString('hex')}@example.test`, password: 'not the password at all' }, agent });
          entry.outcome = 'answered';
          entry.status = reply.status;
        } catch {
          entry.outcome = 'failed';
        }
        entry.doneAt = performance.now();
      }
    };
    const clients = Array.from({ length: 6 }, () => client());
    await sleep(2_000);
    // The signal comes while a request sent well before it is still being served (on a
    // quiet machine a login can finish inside the 50 ms margin below; CI saw it once).
    const longServed = (): boolean => sent.some((entry) => entry.outcome === null && performance.now() - entry.at > 80);
    for (const until = performance.now() + 5_000; !longServed() && performance.now() < until; ) await sleep(2);
    signalledAt = performance.now();
    const exit = server.stop();
    await Promise.all(clients);
    agent.destroy();
    assert.deepEqual(await exit, { code: 0, signal: null }, server.output.slice(-3000));
    // A request sent in the last moments before the signal may still be on its way (in
    // the kernel's accept queue, or racing the close of an idle keep-alive connection), as
    // with any HTTP/1.1 server; one sent 50 ms earlier is being served.
    const before = sent.filter((entry) => entry.at < signalledAt - 50);
    assert.deepEqual(before.filter((entry) => entry.outcome !== 'answered'), [], 'every request sent before the signal got a complete response');
    assert.deepEqual([...new Set(before.map((entry) => entry.status))], [401]);
    assert.ok(before.length >= 6, `a steady load: ${before.length} requests`);
    const inFlight = before.filter((entry) => entry.doneAt > signalledAt);
    assert.ok(inFlight.length >= 1, 'some were being served when the signal came');
    const shutdown = lines(server);
    for (const pid of pids) {
      assert.ok(shutdown.some((line) => line.pid === pid && line.msg === 'shut down cleanly'), `worker ${pid} drained`);
    }
    assert.ok(shutdown.some((line) => line.msg === 'shut down cleanly' && line.pid === undefined), 'the primary last');
  });

  it('the primary never loads the server: its one-time preparation ran in a process of its own', async () => {
    // After the SIGTERM test above: every process of the tree has exited and written its list.
    const reports = await Promise.all(
      (await readdir(probeDir)).filter((name) => name.startsWith('modules-')).map(async (name) => JSON.parse(await readFile(join(probeDir, name), 'utf8')) as { role: string; packages: string[] }),
    );
    const primary = reports.filter((report) => report.role === 'primary');
    const preparation = reports.filter((report) => report.role === 'preparation');
    assert.equal(primary.length, 1, JSON.stringify(reports));
    assert.equal(preparation.length, 1, JSON.stringify(reports));
    // The probe sees the server's packages where they load: in the preparation and the workers.
    assert.ok(preparation[0]?.packages.includes('kysely') && preparation[0].packages.includes('pg'), JSON.stringify(preparation));
    assert.ok(reports.some((report) => report.role === 'worker' && report.packages.includes('fastify')), JSON.stringify(reports));
    const server = (primary[0]?.packages ?? []).filter((name) => /^(fastify|@fastify\/|kysely$|pg$|pg-|ioredis$|jose$|@zxcvbn-ts\/)/.test(name));
    assert.deepEqual(server, [], JSON.stringify(primary));
  });
});

// Two things a worker must do whatever surrounds it: serve, even if the operator's own
// environment happens to name the preparation (only the process the primary forks to
// prepare is one); and refuse, as a single process would, a database whose migrations are
// not its build's, here one a newer build applied while this one served.
describe('WORKERS=2: what a worker does, whatever surrounds it', { skip: postgresTestUrl() === null ? 'DATABASE_URL_TEST is not set' : false }, () => {
  let database: TestDatabase | undefined;
  let server: ServerProcess | undefined;

  after(async () => {
    await server?.stop();
    await database?.cleanup();
  });

  it('serves with GATEHOUSE_CLUSTER_PREPARATION=1 in the environment, and a worker restarted after a newer build migrated refuses to serve', async () => {
    const postgres = testEngines().find((engine) => engine.engine === 'postgres');
    assert.ok(postgres !== undefined);
    database = await postgres.open();
    const url = database.url;
    assert.ok(url !== null);
    const started = await startServer({ env: { DATABASE_URL: url, DATABASE_POOL_MAX: '2', WORKERS: '2', GATEHOUSE_CLUSTER_PREPARATION: '1' }, startTimeoutMs: 60_000 });
    server = started;
    const listening = await waitForLine(started, (line) => line.msg === 'workers listening', 60_000);
    const [victim] = listening.pids ?? [];
    assert.ok(victim !== undefined, started.output.slice(-3000));
    assert.equal((await send(started.baseURL, { method: 'GET', path: '/readyz', agent: false })).status, 200);
    // Another build, newer, migrated the database meanwhile.
    await withAdmin(url, (client) => client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'newer', 'x')"));
    process.kill(victim, 'SIGKILL');
    const refusal = 'database has migrations this build does not know: 9999';
    const deadline = Date.now() + 30_000;
    while (!started.stderr.includes(refusal)) {
      assert.ok(Date.now() < deadline, `no refusal:\n${started.output.slice(-3000)}`);
      started.assertAlive();
      await sleep(100);
    }
    // The replacement exits 1, and the primary tries again later (its backoff).
    await waitForLine(started, (line) => line.msg === 'worker exited unexpectedly: restarting it' && line.code === 1, 10_000);
    assert.equal(lines(started).filter((line) => line.msg === 'gatehouse listening').length, 2, 'no replacement serves');
  });
});
