// `npm run bench:workers`: refresh-token rotation throughput of the real `gatehouse serve`
// on PostgreSQL with WORKERS=1, then WORKERS=2, in one run, on one fresh database; then,
// on a new server of each size, a mixed load, for the memory of each worker.
//
//   npm run bench:workers -- [--workers 1,2] [--seconds 10] [--warmup 2] [--clients 32]
//     [--phases refresh,mix] [--mix 4,8,8] [--server-node-options="--heap-growing-percent=50"]
//     [--entry bin|main]
//
// refresh: the same closed loop as `npm run bench`'s refresh phase
// (bench/lib/auth-phases.ts): each virtual client rotates its own session's refresh token,
// always presenting the newest. mix: logins, GET /v1/me and refresh rotations at once, by
// that many clients each (--mix LOGIN,ME,REFRESH); it reports each worker's resident
// memory (the largest sampled RSS of any one worker) beside its PSS.
// The server is started as an operator starts it (bin/gatehouse.mjs, what `npm start` and
// the container run, with the flags and environment of src/process-tuning.ts,
// LOG_LEVEL=info), so the primary, its workers and the node:cluster hand-off of
// connections are all measured; server CPU counts the primary and its workers. The
// command keeps Node's compile cache, so one start before the measured ones fills it, as
// an operator's first start does: no measured process then strips TypeScript, or keeps
// Node's type stripper (about 12 MB each). `--entry main` starts src/main.ts instead,
// without the cache, as the benchmark did before. PostgreSQL: DATABASE_URL_BENCH, else DATABASE_URL_TEST, else the
// local default; a database is created and dropped. All traffic goes to 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_NODE_FLAGS } from '../src/process-tuning.ts';
import { RAISED_LIMITS } from './auth.ts';
import { logIn, measureMix, measureRefresh, type MeasuredMix, type MeasuredPhase, type MixShare, type Session } from './lib/auth-phases.ts';
import { createHttpClient, type HttpClient } from './lib/http-client.ts';
import type { WindowUsage } from './lib/monitor.ts';
import { createBenchDatabase, postgresBaseURL, type BenchDatabase } from './lib/postgres.ts';
import { freePort, nodeFlags, serverEnv, stopServer, waitReady } from './lib/serve.ts';

const ENTRIES = {
  bin: new URL('../bin/gatehouse.mjs', import.meta.url).pathname,
  main: new URL('../src/main.ts', import.meta.url).pathname,
} as const;
const RESULTS = new URL('./results/', import.meta.url);

interface Run {
  readonly workers: number;
  readonly refresh: MeasuredPhase;
}

interface MixRun {
  readonly workers: number;
  readonly mix: MeasuredMix;
}

const PHASE_NAMES = ['refresh', 'mix'] as const;

function start(entry: string, env: NodeJS.ProcessEnv, args: readonly string[], options: { stdin?: 'ignore' | 'pipe'; logFile?: string; nodeFlags?: readonly string[] } = {}): ChildProcess {
  // Log lines go to a file, not through this process, which would spend CPU reading them.
  const out = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'w', 0o600);
  try {
    return spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(options.nodeFlags ?? []), entry, ...args], { env, stdio: [options.stdin ?? 'ignore', out, 'inherit'] });
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
}

/** Until the log says every worker serves (one /readyz answer only says one does). */
async function waitForWorkers(logFile: string, workers: number): Promise<void> {
  const line = workers === 1 ? '"msg":"gatehouse listening"' : '"msg":"workers listening"';
  const deadline = Date.now() + 120_000;
  while (!(await readFile(logFile, 'utf8')).includes(line)) {
    if (Date.now() > deadline) throw new Error(`the server did not say ${line}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `gatehouse users create`: one verified account, its password on stdin. */
async function createUser(entry: string, env: NodeJS.ProcessEnv, email: string, password: string): Promise<void> {
  const child = start(entry, env, ['users', 'create', '--email', email], { stdin: 'pipe' });
  child.stdin?.end(`${password}\n`);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`users create exited ${String(code)}`);
}

interface Measurement {
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
  readonly database: BenchDatabase;
  readonly workers: number;
  readonly email: string;
  readonly password: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Added to the server's Node flags (its workers inherit them). */
  readonly nodeFlags: readonly string[];
}

/** Starts `gatehouse serve` with the given WORKERS, runs `body` against it, stops it. */
async function withServer<T>(options: Measurement, label: string, maxSockets: number, body: (client: HttpClient, pid: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const logFile = join(options.dataDir, `serve-${label}-${options.workers}.log`);
  const server = start(options.entry, { ...options.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, WORKERS: String(options.workers) }, ['serve'], { logFile, nodeFlags: options.nodeFlags });
  const client = createHttpClient(`http://127.0.0.1:${port}`, { maxSockets });
  try {
    await waitReady(server, port);
    await waitForWorkers(logFile, options.workers);
    const pid = server.pid;
    if (pid === undefined) throw new Error('no server pid');
    return await body(client, pid);
  } finally {
    client.close();
    await stopServer(server);
  }
}

async function logInTimes(client: HttpClient, options: Measurement, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let n = 0; n < count; n += 1) sessions.push(await logIn(client, options.email, options.password));
  return sessions;
}

async function measure(options: Measurement & { clients: number }): Promise<Run> {
  return withServer(options, 'refresh', options.clients, async (client, pid) => {
    const sessions = await logInTimes(client, options, options.clients);
    const refresh = await measureRefresh(
      client,
      { serverPid: pid, serverChildren: true, postgresPids: () => options.database.backendPids() },
      { concurrency: options.clients, sessions, warmupMs: options.warmupMs, durationMs: options.durationMs },
    );
    return { workers: options.workers, refresh };
  });
}

async function measureMixed(options: Measurement & { share: MixShare }): Promise<MixRun> {
  const { share } = options;
  return withServer(options, 'mix', share.login + share.me + share.refresh, async (client, pid) => {
    const sessions = await logInTimes(client, options, share.refresh + share.me);
    const probe = sessions[0];
    if (probe === undefined) throw new Error('no session');
    const me = await client.request('GET', '/v1/me', { headers: { authorization: `Bearer ${probe.accessToken}` } });
    if (me.status !== 200) throw new Error(`GET /v1/me answered ${me.status}`);
    const mix = await measureMix(
      client,
      { serverPid: pid, serverChildren: true, postgresPids: () => options.database.backendPids() },
      { share, email: options.email, password: options.password, sessions, meBytes: Buffer.byteLength(me.body), warmupMs: options.warmupMs, durationMs: options.durationMs },
    );
    return { workers: options.workers, mix };
  });
}

// With WORKERS=1 the server is one process; above, a primary and its workers: each
// worker's share, and the primary's.
// A child of a one-process server (a build, say) is not a worker: the process alone counts.
function perWorkerPSS(usage: WindowUsage, workers: number): string {
  const { main, children, childCount } = usage.pssMB;
  if (workers === 1 || childCount === 0) return main.toFixed(0);
  return `${(children / childCount).toFixed(0)} (primary ${main.toFixed(0)})`;
}

function row(run: Run): string {
  const { refresh } = run;
  const usage = refresh.usage;
  const cells = [
    String(run.workers),
    refresh.perSecond.toFixed(0),
    `${refresh.latencyMs.p50} / ${refresh.latencyMs.p99}`,
    String(refresh.errors + refresh.stoppedClients),
    usage === null ? '-' : usage.serverCores.toFixed(2),
    usage === null ? '-' : usage.postgresCores.toFixed(2),
    usage === null ? '-' : usage.loadGeneratorCores.toFixed(2),
    usage === null ? '-' : usage.foreignCores.toFixed(2),
    usage === null ? '-' : usage.rssMB.mean.toFixed(0),
    usage === null ? '-' : perWorkerPSS(usage, run.workers),
  ];
  return `| ${cells.join(' | ')} |`;
}

// Each worker's largest sampled RSS; with WORKERS=1 the one process's.
function perWorkerRSS(usage: WindowUsage, workers: number): string {
  const { main, childMax } = usage.rssPerProcessMB;
  return workers === 1 || usage.pssMB.childCount === 0 ? main.toFixed(0) : `${childMax.toFixed(0)} (primary ${main.toFixed(0)})`;
}

function mixRow(run: MixRun): string {
  const { mix } = run;
  const usage = mix.usage;
  const cells = [
    String(run.workers),
    mix.perSecondOf.login.toFixed(1),
    mix.perSecondOf.me.toFixed(0),
    mix.perSecondOf.refresh.toFixed(0),
    String(mix.errors + mix.stoppedClients),
    usage === null ? '-' : usage.serverCores.toFixed(2),
    usage === null ? '-' : usage.postgresCores.toFixed(2),
    usage === null ? '-' : usage.loadGeneratorCores.toFixed(2),
    usage === null ? '-' : usage.foreignCores.toFixed(2),
    usage === null ? '-' : perWorkerRSS(usage, run.workers),
    usage === null ? '-' : perWorkerPSS(usage, run.workers),
  ];
  return `| ${cells.join(' | ')} |`;
}

function parseMix(raw: string): MixShare {
  const parts = raw.split(',').map(Number);
  const [login, me, refresh] = parts;
  if (parts.length !== 3 || login === undefined || me === undefined || refresh === undefined || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 128) || login + me + refresh === 0) {
    throw new Error('--mix takes three client counts, LOGIN,ME,REFRESH, each 0..128');
  }
  return { login, me, refresh };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '1,2' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      clients: { type: 'string', default: '32' },
      phases: { type: 'string', default: PHASE_NAMES.join(',') },
      mix: { type: 'string', default: '4,8,8' },
      'server-node-options': { type: 'string', default: '' },
      entry: { type: 'string', default: 'bin' },
    },
  });
  const entryName = values.entry;
  if (entryName !== 'bin' && entryName !== 'main') throw new Error('--entry is bin or main');
  const entry = ENTRIES[entryName];
  const serverFlags = nodeFlags(values['server-node-options']);
  const phases = values.phases.split(',').filter((name) => name !== '');
  if (phases.length === 0 || phases.some((name) => !(PHASE_NAMES as readonly string[]).includes(name))) throw new Error(`--phases takes ${PHASE_NAMES.join(', ')}`);
  const share = parseMix(values.mix);
  const counts = values.workers.split(',').map(Number);
  if (counts.some((count) => !Number.isInteger(count) || count < 1 || count > 64)) throw new Error('--workers takes counts from 1 to 64, comma-separated');
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 1 || clients > 256) throw new Error('--clients must be 1..256');
  const durationMs = Number(values.seconds) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const database = await createBenchDatabase(postgresBaseURL(process.env));
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-workers-bench-'));
  try {
    // One DATA_DIR for every run: the development master key the first command makes there
    // is the one the database's keys are wrapped with.
    // LOG_LEVEL info: a line per request, as in production (and in `npm run bench`).
    // Each server gets its PORT; `users create` needs none.
    const base = Object.fromEntries(Object.entries(serverEnv(dataDir, 0)).filter(([name]) => name !== 'PORT'));
    const env = { ...base, ...RAISED_LIMITS, LOG_LEVEL: 'info', DATABASE_URL: database.url };
    const email = `rotation.${randomBytes(4).toString('hex')}@example.test`;
    const password = `${randomBytes(8).toString('hex')} correct horse battery staple`;
    await createUser(entry, env, email, password);
    if (entryName === 'bin') {
      // Fills the compile cache, at its exit, with every module a start loads.
      process.stderr.write(`one start (WORKERS=${Math.max(...counts)}) first, for the compile cache\n`);
      await withServer({ entry, env, dataDir, database, workers: Math.max(...counts), email, password, warmupMs, durationMs, nodeFlags: serverFlags }, 'prime', 1, () => Promise.resolve());
    }
    const runs: Run[] = [];
    const mixes: MixRun[] = [];
    const machine = `PostgreSQL ${database.serverVersion}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, started through ${entryName === 'bin' ? 'bin/gatehouse.mjs (its compile cache filled)' : 'src/main.ts (no compile cache)'}`;
    for (const workers of counts) {
      const options = { entry, env, dataDir, database, workers, email, password, warmupMs, durationMs, nodeFlags: serverFlags };
      if (phases.includes('refresh')) {
        process.stderr.write(`WORKERS=${workers}: ${clients} clients, each rotating its own session, ${warmupMs / 1000} s warm-up, ${durationMs / 1000} s measured\n`);
        runs.push(await measure({ ...options, clients }));
      }
      if (phases.includes('mix')) {
        process.stderr.write(`WORKERS=${workers}: mixed load, ${share.login} login, ${share.me} /v1/me and ${share.refresh} refresh clients, ${warmupMs / 1000} s warm-up, ${durationMs / 1000} s measured\n`);
        mixes.push(await measureMixed({ ...options, share }));
      }
    }
    if (runs.length > 0) {
      console.log(`\nRefresh rotation on ${machine}`);
      console.log('Cores: CPU used during the window, in cores (server = the primary and its workers).\n');
      console.log('Server RSS: the primary and its workers together (shared pages counted in each). PSS per worker: each worker\'s proportional set size (shared pages divided among the processes sharing them).\n');
      console.log('| WORKERS | refresh/s | p50 / p99 ms | errors | server cores | PostgreSQL cores | load generator cores | foreign cores | server RSS MB | PSS per worker MB |');
      console.log('| ------- | --------- | ------------ | ------ | ------------ | ---------------- | -------------------- | ------------- | ------------- | ----------------- |');
      for (const run of runs) console.log(row(run));
    }
    if (mixes.length > 0) {
      console.log(`\nMixed load (${share.login} login, ${share.me} GET /v1/me, ${share.refresh} refresh clients at once) on ${machine}`);
      console.log('RSS per worker: the largest RSS sampled (every 200 ms) of any one worker, or of the one process with WORKERS=1. PSS per worker: as above.\n');
      console.log('| WORKERS | logins/s | /v1/me/s | refresh/s | errors | server cores | PostgreSQL cores | load generator cores | foreign cores | RSS per worker MB (max) | PSS per worker MB |');
      console.log('| ------- | -------- | -------- | --------- | ------ | ------------ | ---------------- | -------------------- | ------------- | ----------------------- | ----------------- |');
      for (const run of mixes) console.log(mixRow(run));
    }
    await mkdir(RESULTS, { recursive: true });
    await writeFile(new URL('workers.json', RESULTS), `${JSON.stringify({ benchmark: 'workers', date: new Date().toISOString(), node: process.version, entry: entryName, cores: cpus().length, postgres: database.serverVersion, clients, runs, share, mixes }, null, 2)}\n`);
  } finally {
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
