// `npm run bench:soak`: the real `gatehouse serve` on PostgreSQL under a steady mix for a
// long time (default 10 minutes), sampled every 10 s: resident memory, V8 heap used, and
// the p99 latency of the window. A leak shows as memory growing from the first minutes to
// the last; a slow-down as p99 growing. The mix per second, paced (not as fast as it can):
// GET /v1/me (--me, default 150), refresh rotations (--refresh, 30), password logins
// (--logins, 3; each an Argon2id hash). All traffic goes to 127.0.0.1.
//
//   npm run bench:soak -- [--minutes 10] [--me 150] [--refresh 30] [--logins 3]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SERVER_NODE_FLAGS } from '../src/process-tuning.ts';
import { RAISED_LIMITS } from './auth.ts';
import { logIn, type Session } from './lib/auth-phases.ts';
import { createHttpClient, type HttpClient } from './lib/http-client.ts';
import { createBenchDatabase, postgresBaseURL } from './lib/postgres.ts';
import { residentBytes } from './lib/proc.ts';
import { freePort, serverEnv, stopServer, waitReady } from './lib/serve.ts';
import { percentile } from './lib/stats.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const SAMPLE_MS = 10_000;
const USERS = 20;

interface Window {
  readonly atSeconds: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number;
}

function startServer(env: NodeJS.ProcessEnv, args: readonly string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, ...args], { env, stdio: [stdin, 'ignore', 'inherit'] });
}

async function createUser(env: NodeJS.ProcessEnv, email: string, password: string): Promise<void> {
  const child = startServer(env, ['users', 'create', '--email', email], 'pipe');
  child.stdin?.end(`${password}\n`);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`users create exited ${String(code)}`);
}

async function heapUsedMB(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith('gatehouse_nodejs_heap_size_used_bytes '));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]) / 1_048_576;
}

/** Calls `send` `perSecond` times a second, evenly, with at most `inFlight` outstanding. */
function paced(perSecond: number, inFlight: number, send: () => Promise<void>): { stop(): Promise<void> } {
  let outstanding = 0;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (outstanding >= inFlight) return;
    outstanding += 1;
    const done = send().finally(() => {
      outstanding -= 1;
      pending.delete(done);
    });
    pending.add(done);
  }, 1000 / perSecond);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, me: { type: 'string', default: '150' }, refresh: { type: 'string', default: '30' }, logins: { type: 'string', default: '3' } } });
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 60)) throw new Error('--minutes must be in (0, 60]');
  const rates = { me: Number(values.me), refresh: Number(values.refresh), logins: Number(values.logins) };
  const database = await createBenchDatabase(postgresBaseURL(process.env));
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-soak-'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = serverEnv(dataDir, port);
  const env = { ...base, ...RAISED_LIMITS, LOG_LEVEL: 'info', DATABASE_URL: database.url, METRICS_PORT: String(metricsPort), PUBLIC_URL: `http://127.0.0.1:${port}` };
  const password = `${randomBytes(8).toString('hex')} correct horse battery staple`;
  const emails = Array.from({ length: USERS }, (_, index) => `soak.${index}.${randomBytes(3).toString('hex')}@example.test`);
  for (const email of emails) await createUser(env, email, password);
  const server = startServer(env, ['serve']);
  const client: HttpClient = createHttpClient(`http://127.0.0.1:${port}`, { maxSockets: 64 });
  try {
    await waitReady(server, port);
    const pid = server.pid;
    if (pid === undefined) throw new Error('no server pid');
    const sessions: Session[] = [];
    for (const email of emails) sessions.push(await logIn(client, email, password));
    let latencies: number[] = [];
    let errors = 0;
    const timed = async (call: () => Promise<number>, ok: (status: number) => boolean): Promise<void> => {
      const started = performance.now();
      try {
        if (!ok(await call())) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - started);
    };
    let turn = 0;
    const next = (): Session => sessions[(turn += 1) % sessions.length] ?? sessions[0]!;
    const loops = [
      paced(rates.me, 32, () => timed(async () => (await client.request('GET', '/v1/me', { headers: { authorization: `Bearer ${next().accessToken}` } })).status, (status) => status === 200 || status === 401)),
      paced(rates.refresh, 16, async () => {
        const session = next();
        await timed(async () => {
          const answer = await client.request('POST', '/v1/auth/refresh', { json: { refresh_token: session.refreshToken } });
          if (answer.status === 200) session.refreshToken = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
          return answer.status;
        }, (status) => status === 200 || status === 401);
      }),
      paced(rates.logins, 8, async () => {
        const session = next();
        await timed(async () => {
          const answer = await client.request('POST', '/v1/auth/login', { json: { email: session.email, password } });
          if (answer.status === 200) {
            const fresh = JSON.parse(answer.body) as { access_token: string; refresh_token: string };
            Object.assign(session, { accessToken: fresh.access_token, refreshToken: fresh.refresh_token });
          }
          return answer.status;
        }, (status) => status === 200);
      }),
    ];
    const windows: Window[] = [];
    const started = performance.now();
    process.stderr.write(`soak: ${minutes} min, per second ${rates.me} GET /v1/me, ${rates.refresh} refreshes, ${rates.logins} logins\n`);
    while (performance.now() - started < minutes * 60_000) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      const sample = latencies;
      latencies = [];
      const window: Window = { atSeconds: Math.round((performance.now() - started) / 1000), rssMB: (residentBytes(pid) ?? 0) / 1_048_576, heapMB: await heapUsedMB(metricsPort), requests: sample.length, errors, p99Ms: percentile([...sample].sort((a, b) => a - b), 99) };
      errors = 0;
      windows.push(window);
      process.stderr.write(`${window.atSeconds}s rss ${window.rssMB.toFixed(0)} MB heap ${window.heapMB.toFixed(1)} MB p99 ${window.p99Ms.toFixed(1)} ms ${window.requests} requests ${window.errors} errors\n`);
    }
    for (const loop of loops) await loop.stop();
    report(windows);
  } finally {
    client.close();
    await stopServer(server);
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 50);

function report(windows: readonly Window[]): void {
  const third = Math.max(1, Math.floor(windows.length / 3));
  const [first, last] = [windows.slice(0, third), windows.slice(-third)];
  const line = (label: string, pick: (window: Window) => number, unit: string): string => {
    const [a, b] = [median(first.map(pick)), median(last.map(pick))];
    return `| ${label} | ${a.toFixed(1)} ${unit} | ${b.toFixed(1)} ${unit} | ${(((b - a) / a) * 100).toFixed(1)}% |`;
  };
  console.log(`\nSoak: ${windows.length} windows of ${SAMPLE_MS / 1000} s; ${windows.reduce((sum, window) => sum + window.requests, 0)} requests, ${windows.reduce((sum, window) => sum + window.errors, 0)} unexpected answers`);
  console.log('| measure | median, first third | median, last third | change |');
  console.log('| --- | --- | --- | --- |');
  console.log(line('server RSS', (window) => window.rssMB, 'MB'));
  console.log(line('V8 heap used', (window) => window.heapMB, 'MB'));
  console.log(line('p99 latency', (window) => window.p99Ms, 'ms'));
}

await main();
