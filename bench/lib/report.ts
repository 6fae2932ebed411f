// Turns an auth benchmark report into the goals it meets or misses, and text tables.
//
// Besides the measured rates, each phase gets a quiet-machine projection from the CPU it
// cost: other people's work on a shared machine lowers throughput, but changes the CPU
// time each request takes far less. The projection assumes the phase is CPU-bound:
//   rate ≈ min(cores / CPU per op over server + PostgreSQL + load generator,
//              1 / server CPU per op, 1 / load-generator CPU per op)
// (the last two because each is one event loop; where the CPU is mostly Argon2id on the
// libuv pool threads, as in login and the raw hash phase, that bound does not apply).
import type { AuthBenchReport, EngineReport, PhaseName } from '../auth.ts';
import type { MeasuredPhase } from './auth-phases.ts';
import { round } from './stats.ts';

export interface Goal {
  readonly goal: string;
  readonly engine: string;
  readonly target: string;
  readonly measured: number;
  readonly met: boolean;
  readonly figures: string;
  /** The same goal from CPU cost per operation: what a machine free of other work would show. */
  readonly projected: number;
  readonly projectedMet: boolean;
}

// Issue 14's goals: login ≥ 0.9 of the raw hash rate, refresh ≥ 2,000/s, /v1/me ≥ 0.5 of a bare route, ≤ 150 MB.
export const TARGETS = { loginToHashRatio: 0.9, refreshPerSecond: 2000, meToBareRatio: 0.5, rssMB: 150 } as const;

const PHASE_LABELS: Record<PhaseName, string> = {
  login: 'POST /v1/auth/login',
  me: 'GET /v1/me (bearer)',
  bare: 'GET bare Fastify route',
  refresh: 'POST /v1/auth/refresh',
};

export interface PhaseCost {
  readonly serverUs: number;
  readonly postgresUs: number;
  readonly loadGeneratorUs: number;
  readonly totalUs: number;
  /** Operations per second on this machine with nothing else running (see above). */
  readonly quietPerSecond: number;
}

export function phaseCost(phase: MeasuredPhase, cores: number, options: { singleThreadedServer: boolean; singleThreadedLoadGenerator: boolean }): PhaseCost | null {
  const usage = phase.usage;
  if (usage === null || phase.perSecond <= 0) return null;
  const perOp = (coresUsed: number): number => (coresUsed / phase.perSecond) * 1e6;
  const serverUs = perOp(usage.serverCores);
  const postgresUs = perOp(usage.postgresCores);
  const loadGeneratorUs = perOp(usage.loadGeneratorCores);
  const totalUs = serverUs + postgresUs + loadGeneratorUs;
  const bounds = [(cores * 1e6) / totalUs];
  if (options.singleThreadedServer) bounds.push(1e6 / serverUs);
  if (options.singleThreadedLoadGenerator) bounds.push(1e6 / loadGeneratorUs);
  return {
    serverUs: Math.round(serverUs),
    postgresUs: Math.round(postgresUs),
    loadGeneratorUs: Math.round(loadGeneratorUs),
    totalUs: Math.round(totalUs),
    quietPerSecond: round(Math.min(...bounds.filter((bound) => Number.isFinite(bound))), 1),
  };
}

function costOf(engine: EngineReport, name: PhaseName | 'hash', cores: number): PhaseCost | null {
  const phase = name === 'hash' ? engine.hash : engine.phases[name];
  if (phase === undefined) return null;
  // Login's server CPU and the raw hash phase's "load generator" CPU are mostly pool threads.
  return phaseCost(phase, cores, { singleThreadedServer: name !== 'login' && name !== 'hash', singleThreadedLoadGenerator: name !== 'hash' });
}

function loadedRssMB(engine: EngineReport): number {
  const maxima = Object.values(engine.phases).map((phase) => phase.usage?.rssMB.max ?? Number.NaN).filter((value) => !Number.isNaN(value));
  return maxima.length === 0 ? Number.NaN : Math.max(...maxima);
}

function ratioGoal(engine: EngineReport, cores: number, name: string, target: number, top: PhaseName, bottom: PhaseName | 'hash'): Goal | null {
  const upper = engine.phases[top];
  const lower = bottom === 'hash' ? engine.hash : engine.phases[bottom];
  if (upper === undefined || lower === undefined) return null;
  const measured = round(upper.perSecond / lower.perSecond);
  const projected = round((costOf(engine, top, cores)?.quietPerSecond ?? Number.NaN) / (costOf(engine, bottom, cores)?.quietPerSecond ?? Number.NaN));
  return { goal: name, engine: engine.engine, target: `≥ ${target}`, measured, met: measured >= target, figures: `${upper.perSecond} / ${lower.perSecond}`, projected, projectedMet: projected >= target };
}

export function evaluateGoals(report: AuthBenchReport): Goal[] {
  const goals: Goal[] = [];
  const cores = report.machine.cpus;
  for (const engine of report.engines) {
    // With --login-overhead the server's hash is not the raw one's: no ratio to speak of.
    const login = report.loginOverhead ? null : ratioGoal(engine, cores, 'login/s ÷ raw argon2id hashes/s', TARGETS.loginToHashRatio, 'login', 'hash');
    if (login !== null) goals.push(login);
    const refresh = engine.phases.refresh;
    if (refresh !== undefined && engine.engine === 'postgres') {
      const projected = costOf(engine, 'refresh', cores)?.quietPerSecond ?? Number.NaN;
      goals.push({ goal: 'refresh rotations/s', engine: engine.engine, target: `≥ ${TARGETS.refreshPerSecond}`, measured: refresh.perSecond, met: refresh.perSecond >= TARGETS.refreshPerSecond, figures: `${refresh.completed} in ${refresh.seconds} s`, projected, projectedMet: projected >= TARGETS.refreshPerSecond });
    }
    const me = ratioGoal(engine, cores, 'GET /v1/me/s ÷ bare route/s', TARGETS.meToBareRatio, 'me', 'bare');
    if (me !== null) goals.push(me);
    const rss = loadedRssMB(engine);
    if (!Number.isNaN(rss)) {
      goals.push({ goal: 'server RSS under load (max MB)', engine: engine.engine, target: `≤ ${TARGETS.rssMB}`, measured: rss, met: rss <= TARGETS.rssMB, figures: `peak VmHWM ${engine.peakRssMB ?? '?'} MB`, projected: rss, projectedMet: rss <= TARGETS.rssMB });
    }
  }
  return goals;
}

/**
 * What login ÷ raw hash this run's machine allows at all. On a machine whose cores the
 * server, PostgreSQL and the load generator share, both phases are CPU-bound, so
 *   raw hashes/s = cores / h                       (the raw phase does nothing but hash)
 *   logins/s     = cores / (h + s + p + g)
 * with h the CPU of one hash, s the server's CPU per login beside it, p PostgreSQL's and
 * g the load generator's. Their ratio is h / (h + s + p + g): even a server that spent
 * nothing beside the hash (s = 0) reaches only h / (h + p + g), the ceiling, and 0.9 needs
 * s ≤ h / 0.9 − h − p − g, the budget (negative: the goal is out of reach in this run,
 * whatever the server does). h is the raw phase's CPU per hash; p and g the login's.
 */
export interface LoginCeiling {
  readonly engine: string;
  readonly hashUs: number;
  readonly postgresUs: number;
  readonly loadGeneratorUs: number;
  readonly ceiling: number;
  /** Server CPU per login beside the hash that the goal allows (µs); negative: none. */
  readonly budgetUs: number;
  /** The server's CPU per login outside its libuv pool (where the hash runs), measured. */
  readonly serverBesideHashUs: number | null;
}

export function loginCeilings(report: AuthBenchReport): LoginCeiling[] {
  if (report.loginOverhead) return [];
  const cores = report.machine.cpus;
  return report.engines.flatMap((engine) => {
    const hash = costOf(engine, 'hash', cores);
    const login = costOf(engine, 'login', cores);
    const phase = engine.phases.login;
    if (hash === null || login === null || phase === undefined) return [];
    const h = hash.totalUs;
    const p = login.postgresUs;
    const g = login.loadGeneratorUs;
    const threads = phase.usage?.serverThreads;
    const pool = threads?.['libuv-worker'];
    const serverBesideHashUs = pool === undefined ? null : Math.round(login.serverUs - (pool * 1e6) / phase.perSecond);
    return [{ engine: engine.engine, hashUs: h, postgresUs: p, loadGeneratorUs: g, ceiling: round(h / (h + p + g)), budgetUs: Math.round(h / TARGETS.loginToHashRatio - h - p - g), serverBesideHashUs }];
  });
}

export function formatLoginCeilings(ceilings: readonly LoginCeiling[]): string {
  return formatTable(
    ['engine', 'login ÷ hash ceiling (server free beside the hash)', 'hash µs', 'pg µs/login', 'loadgen µs/login', 'server budget for 0.9 µs', 'server beside hash µs'],
    ceilings.map((c) => [c.engine, String(c.ceiling), String(c.hashUs), String(c.postgresUs), String(c.loadGeneratorUs), String(c.budgetUs), c.serverBesideHashUs === null ? '-' : String(c.serverBesideHashUs)]),
  );
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const text = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '-' : String(value));

function phaseRow(engine: string, label: string, phase: MeasuredPhase, cost: PhaseCost | null): string[] {
  const usage = phase.usage;
  return [
    engine,
    label,
    text(phase.perSecond),
    text(phase.latencyMs.p50),
    text(phase.latencyMs.p99),
    text(phase.errors),
    text(phase.concurrency),
    text(usage?.serverCores),
    text(usage?.postgresCores),
    text(usage?.loadGeneratorCores),
    text(usage?.foreignCores),
    text(cost?.serverUs),
    text(cost?.postgresUs),
    text(cost?.totalUs),
    text(cost?.quietPerSecond),
    text(usage?.rssMB.max),
  ];
}

export function formatResults(report: AuthBenchReport): string {
  const header = ['engine', 'phase', 'per s', 'p50 ms', 'p99 ms', 'errors', 'clients', 'cores: server', 'pg', 'loadgen', 'foreign', 'µs/op: server', 'pg', 'total', 'quiet proj. /s', 'RSS max MB'];
  const cores = report.machine.cpus;
  const rows: string[][] = [];
  for (const engine of report.engines) {
    rows.push(phaseRow(engine.engine, 'raw argon2id hash (no server)', engine.hash, costOf(engine, 'hash', cores)));
    for (const name of ['login', 'me', 'bare', 'refresh'] as const) {
      const phase = engine.phases[name];
      if (phase !== undefined) rows.push(phaseRow(engine.engine, PHASE_LABELS[name], phase, costOf(engine, name, cores)));
    }
  }
  return formatTable(header, rows);
}

export function formatMemory(report: AuthBenchReport): string {
  const rows: string[][] = [];
  for (const engine of report.engines) {
    const points = [['ready (idle)', engine.memory.ready] as const, ...Object.entries(engine.memory.after).map(([name, memory]) => [`after ${name}`, memory] as const)];
    for (const [label, memory] of points) {
      rows.push([engine.engine, label, ...[memory.rss, memory.heapTotal, memory.heapUsed, memory.newSpace, memory.oldSpace, memory.external, memory.arrayBuffers].map(String), memory.liveHeapAfterGC === null ? '-' : String(memory.liveHeapAfterGC)]);
    }
  }
  return formatTable(['engine', 'server memory (MB)', 'rss', 'heap total', 'heap used', 'new space', 'old space', 'external', 'array buffers', 'live heap after GC'], rows);
}

export function formatGoals(goals: readonly Goal[]): string {
  return formatTable(
    ['measured', 'engine', 'goal', 'value', 'target', 'figures', 'quiet proj.', 'projected'],
    goals.map((goal) => [goal.met ? 'MET' : 'MISSED', goal.engine, goal.goal, String(goal.measured), goal.target, goal.figures, String(goal.projected), goal.projectedMet ? 'MET' : 'MISSED']),
  );
}

/** Server CPU per operation by thread name (µs): where the server's CPU goes, beyond the main thread's profile. */
export function formatThreads(report: AuthBenchReport): string {
  const rows: string[][] = [];
  for (const engine of report.engines) {
    for (const name of ['login', 'me', 'bare', 'refresh'] as const) {
      const phase = engine.phases[name];
      const threads = phase?.usage?.serverThreads;
      if (phase === undefined || threads === undefined || phase.perSecond <= 0) continue;
      for (const [thread, cores] of Object.entries(threads).sort((a, b) => b[1] - a[1])) {
        rows.push([engine.engine, PHASE_LABELS[name], thread, String(cores), String(Math.round((cores * 1e6) / phase.perSecond))]);
      }
    }
  }
  return formatTable(['engine', 'phase', 'server thread', 'cores', 'µs/op'], rows);
}
