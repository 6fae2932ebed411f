// The authentication benchmark: login, refresh rotation and GET /v1/me against the real
// server in a child process, each engine on a fresh database, beside the ceilings they
// are judged against (raw Argon2id hashes/s; a bare Fastify route). Run through
// bench/run.ts (`npm run bench`); this module measures and returns, it prints nothing
// but progress.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../src/core/db/database.ts';
import { createPasswordHasher, DEFAULT_ARGON2_COST } from '../src/core/password/hash.ts';
import { logIn, measureGet, measureLogin, measureRefresh, type MeasuredPhase, type PhaseTiming, type Session } from './lib/auth-phases.ts';
import { createHttpClient, type HttpClient } from './lib/http-client.ts';
import { createWindowMonitor, type MonitorOptions } from './lib/monitor.ts';
import { createBenchDatabase, type BenchDatabase } from './lib/postgres.ts';
import { machineCPUSeconds, peakResidentBytes } from './lib/proc.ts';
import type { ServerMemory } from './lib/protocol.ts';
import { startServerProcess, type ServerProcess } from './lib/server-process.ts';
import { round } from './lib/stats.ts';
import { measureHashesPerSecond } from './password-hash.ts';

export const PHASES = ['login', 'me', 'bare', 'refresh'] as const;
export type PhaseName = (typeof PHASES)[number];

/** Limits raised so the benchmark measures throughput, not the brute-force controls. */
export const RAISED_LIMITS: Readonly<Record<string, string>> = {
  LOCKOUT_THRESHOLD: '100',
  AUTH_RATE_LIMIT_MAX: '100000',
  AUTH_RATE_LIMIT_WINDOW: '1',
  AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000',
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_WINDOW_SECONDS: '1',
};

/** Above this share of the machine busy before the run, the run warns that it is not quiet. */
export const QUIET_BUSY_PERCENT = 15;

export interface AuthBenchOptions extends PhaseTiming {
  readonly engines: readonly Engine[];
  readonly phases: readonly PhaseName[];
  readonly users: number;
  readonly concurrency: { readonly hash: number; readonly login: number; readonly me: number; readonly refresh: number };
  readonly postgresBaseURL: string;
  /** Extra Node flags for the server process (e.g. --cpu-prof). */
  readonly serverExecArgv: readonly string[];
  /** Wait up to this long for the machine to be quiet before starting (0: do not wait). */
  readonly waitQuietMs: number;
  /** The server hashes at Argon2id's minimum cost: login minus the hash (a diagnostic, no goal). */
  readonly loginOverhead: boolean;
  readonly progress: (line: string) => void;
  /** Aborting (Ctrl-C) cuts the current phase short and skips the rest; cleanup still runs. */
  readonly signal: AbortSignal;
}

export type HashMeasurement = MeasuredPhase & { readonly cost: { memoryKiB: number; passes: number; parallelism: number } };

export interface EngineReport {
  readonly engine: Engine;
  /** Raw Argon2id hashes/s, measured in this process just before this engine's phases. */
  readonly hash: HashMeasurement;
  readonly setupMs: number;
  readonly poolMax: number | null;
  readonly serverThreadpool: number;
  /** The server loaded Node's type stripper (protocol.ts): its memory figures include it. */
  readonly typeStripperLoaded: boolean;
  readonly meBodyBytes: number | null;
  readonly phases: Partial<Record<PhaseName, MeasuredPhase>>;
  /** The server's process.memoryUsage() (MB) when ready, idle, and after each phase. */
  readonly memory: { readonly ready: ServerMemory; readonly after: Partial<Record<PhaseName, ServerMemory>> };
  /** VmHWM of the server process just before it stopped. */
  readonly peakRssMB: number | null;
}

export interface AuthBenchReport {
  readonly benchmark: 'auth';
  readonly date: string;
  readonly node: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly memoryMB: number;
    /** Share of all cores busy in the 2 s before the run, and the load average then. */
    readonly busyBeforePercent: number;
    readonly loadAverageBefore: readonly number[];
  };
  readonly postgres: string | null;
  readonly users: number;
  readonly warmupSeconds: number;
  readonly measuredSeconds: number;
  readonly raisedLimits: Readonly<Record<string, string>>;
  /** The server hashed at the minimum cost (--login-overhead): its login figures are not the goal's. */
  readonly loginOverhead: boolean;
  readonly engines: readonly EngineReport[];
}

function benchPassword(): string {
  return `bench ${randomBytes(8).toString('hex')} correct horse battery`;
}

async function sessionsFor(client: HttpClient, emails: readonly string[], password: string, kept: Map<number, Session>, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let user = 0; user < count; user += 1) {
    const email = emails[user];
    if (email === undefined) throw new Error(`need ${count} users, have ${emails.length}`);
    sessions.push(kept.get(user) ?? (await logIn(client, email, password)));
  }
  return sessions;
}

type PhaseRecord = Pick<EngineReport, 'phases' | 'meBodyBytes'> & { memoryAfter: EngineReport['memory']['after'] };

async function runPhases(server: ServerProcess, watch: MonitorOptions, options: AuthBenchOptions, password: string): Promise<PhaseRecord> {
  const { emails } = server.ready;
  const wanted = new Set(options.phases);
  const sessionCount = Math.max(options.concurrency.me, options.concurrency.refresh);
  const maxSockets = Math.max(options.concurrency.login, sessionCount);
  const app = createHttpClient(server.ready.appURL, { maxSockets });
  const bare = createHttpClient(server.ready.bareURL, { maxSockets });
  const phases: EngineReport['phases'] = {};
  const memoryAfter: EngineReport['memory']['after'] = {};
  const record = async (name: PhaseName, run: () => Promise<MeasuredPhase>): Promise<void> => {
    if (options.signal.aborted) return;
    phases[name] = await run();
    memoryAfter[name] = await server.memory();
  };
  const kept = new Map<number, Session>();
  const timing = { warmupMs: options.warmupMs, durationMs: options.durationMs, signal: options.signal };
  try {
    if (wanted.has('login')) {
      options.progress(`  login: ${options.concurrency.login} clients over ${emails.length} users`);
      await record('login', () => measureLogin(app, watch, { ...timing, concurrency: options.concurrency.login, emails, password, keep: kept, keepCount: sessionCount }));
    }
    if (!wanted.has('me') && !wanted.has('bare') && !wanted.has('refresh')) return { phases, meBodyBytes: null, memoryAfter };
    const sessions = await sessionsFor(app, emails, password, kept, sessionCount);
    const first = sessions[0];
    if (first === undefined) throw new Error('no session');
    // The bare route answers with this very body, so both sides send the same bytes.
    const me = await app.request('GET', '/v1/me', { headers: { authorization: `Bearer ${first.accessToken}` } });
    if (me.status !== 200) throw new Error(`GET /v1/me answered ${me.status}`);
    await server.setBareBody(JSON.parse(me.body));
    const meBodyBytes = Buffer.byteLength(me.body);
    const get = { ...timing, concurrency: options.concurrency.me, sessions, expectBytes: meBodyBytes };
    if (wanted.has('me')) {
      options.progress(`  GET /v1/me: ${options.concurrency.me} clients, ${sessions.length} sessions, ${meBodyBytes}-byte body`);
      await record('me', () => measureGet(app, watch, { ...get, path: '/v1/me' }));
    }
    if (wanted.has('bare')) {
      options.progress(`  GET /bare (bare Fastify, same process, same body and headers)`);
      await record('bare', () => measureGet(bare, watch, { ...get, path: '/bare' }));
    }
    if (wanted.has('refresh')) {
      options.progress(`  refresh: ${options.concurrency.refresh} clients, each chaining its own session`);
      await record('refresh', () => measureRefresh(app, watch, { ...timing, concurrency: options.concurrency.refresh, sessions }));
    }
    return { phases, meBodyBytes, memoryAfter };
  } finally {
    app.close();
    bare.close();
  }
}

async function runEngine(engine: Engine, options: AuthBenchOptions): Promise<{ report: EngineReport; postgres: string | null }> {
  const database: BenchDatabase | null = engine === 'postgres' ? await createBenchDatabase(options.postgresBaseURL) : null;
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const password = benchPassword();
  try {
    options.progress(`${engine}: starting the server (${options.users} users)${database === null ? '' : ` on database ${database.name}`}`);
    const server = await startServerProcess(
      { type: 'start', engine, databaseURL: database?.url ?? null, dataDir, users: options.users, password, env: RAISED_LIMITS, minimalHashCost: options.loginOverhead },
      { execArgv: options.serverExecArgv },
    );
    try {
      const ready = await server.memory();
      // The ceiling for logins, measured now so it sees the same machine as the phases after it.
      const hash = await measureHashRate(options);
      const watch: MonitorOptions = { serverPid: server.pid, ...(database === null ? {} : { postgresPids: () => database.backendPids() }) };
      const { phases, meBodyBytes, memoryAfter } = await runPhases(server, watch, options, password);
      const peak = peakResidentBytes(server.pid);
      return {
        postgres: database?.serverVersion ?? null,
        report: {
          engine,
          hash,
          setupMs: server.ready.setupMs,
          poolMax: server.ready.poolMax,
          serverThreadpool: server.ready.threadpoolSize,
          typeStripperLoaded: server.ready.typeStripperLoaded,
          meBodyBytes,
          phases,
          memory: { ready, after: memoryAfter },
          peakRssMB: peak === null ? null : round(peak / 1024 / 1024, 1),
        },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  }
}

/** How busy the machine is before anything starts: other work skews every figure. */
async function machineBusyPercent(ms: number): Promise<number> {
  const before = machineCPUSeconds();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = machineCPUSeconds();
  return round((100 * (after.busy - before.busy)) / Math.max(1e-9, after.total - before.total), 1);
}

/** bench/password-hash.ts's measurement, with a warm-up and this benchmark's CPU accounting. */
async function measureHashRate(options: AuthBenchOptions): Promise<HashMeasurement> {
  const concurrency = options.concurrency.hash;
  options.progress(`  argon2id: raw hashes/s at production cost in this process, ${concurrency} at a time (server idle)`);
  // As many in flight as asked for: the raw ceiling, not bounded like the server's hasher.
  const hasher = createPasswordHasher({ concurrency });
  if (options.warmupMs > 0) await measureHashesPerSecond(options.warmupMs, concurrency, hasher);
  const monitor = createWindowMonitor({ serverPid: null });
  monitor.start();
  const result = await measureHashesPerSecond(options.durationMs, concurrency, hasher);
  monitor.end();
  return {
    completed: result.hashes,
    errors: 0,
    stoppedClients: 0,
    perSecond: result.hashesPerSecond,
    latencyMs: result.latencyMs,
    seconds: result.elapsedMs / 1000,
    concurrency,
    usage: monitor.usage(),
    cost: DEFAULT_ARGON2_COST,
  };
}

export async function runAuthBenchmark(options: AuthBenchOptions): Promise<AuthBenchReport> {
  let idleBusy = await machineBusyPercent(2000);
  for (const deadline = performance.now() + options.waitQuietMs; idleBusy > QUIET_BUSY_PERCENT && performance.now() < deadline; ) {
    options.progress(`waiting for a quiet machine (${idleBusy}% busy)`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    idleBusy = await machineBusyPercent(2000);
  }
  const load = loadavg();
  options.progress(`machine before the run: ${idleBusy}% busy, load average ${load.map((value) => value.toFixed(2)).join(' ')}`);
  if (idleBusy > QUIET_BUSY_PERCENT) options.progress(`WARNING: the machine is already ${idleBusy}% busy with other work; the figures will be low and noisy.`);
  const engines: EngineReport[] = [];
  let postgres: string | null = null;
  for (const engine of options.engines) {
    if (options.signal.aborted) break;
    const { report, postgres: version } = await runEngine(engine, options);
    engines.push(report);
    postgres ??= version;
  }
  const cpu = cpus();
  return {
    benchmark: 'auth',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown', memoryMB: Math.round(totalmem() / 1024 / 1024), busyBeforePercent: idleBusy, loadAverageBefore: load.map((value) => round(value)) },
    postgres,
    users: options.users,
    warmupSeconds: options.warmupMs / 1000,
    measuredSeconds: options.durationMs / 1000,
    raisedLimits: RAISED_LIMITS,
    loginOverhead: options.loginOverhead,
    engines,
  };
}
