// Watches a measured window: the server's resident memory (sampled), and how much CPU the
// server, this load generator, the PostgreSQL backends serving the benchmark's database,
// and everything else on the machine (other people's work: "foreign") used during it.
// Foreign load skews throughput; CPU per request is much less sensitive to it.
import { readFileSync } from 'node:fs';
import { machineCPUSeconds, processCPUSeconds, proportionalBytes, residentBytes, threadCPUSeconds } from './proc.ts';
import { round } from './stats.ts';

export interface WindowUsage {
  /** Cores' worth of CPU, e.g. 0.95 = one core busy 95% of the window. */
  readonly serverCores: number;
  readonly loadGeneratorCores: number;
  /** Backends connected to the benchmark's database (0 for PGlite, which runs in the server). */
  readonly postgresCores: number;
  /** Everything else: other processes on the machine, PostgreSQL's shared background workers. */
  readonly foreignCores: number;
  /** Share of the whole machine busy, 0–100. */
  readonly machineBusyPercent: number;
  readonly rssMB: { readonly mean: number; readonly max: number; readonly samples: number };
  /**
   * Proportional set size (proc.ts): of the process the monitor was given, and of its
   * children together (the workers, with `serverChildren`), each the largest sampled.
   */
  readonly pssMB: { readonly main: number; readonly children: number; readonly childCount: number };
  /** The largest sampled RSS of the process the monitor was given, and of any one of its children (0 without). */
  readonly rssPerProcessMB: { readonly main: number; readonly childMax: number };
  /** The server's cores by thread name (`main`, `libuv-worker`, `V8 DefaultWorke`, ...), summed over its processes. */
  readonly serverThreads: Readonly<Record<string, number>>;
}

export interface WindowMonitor {
  start(): void;
  end(): void;
  /** Null when the window never opened. */
  usage(): WindowUsage | null;
}

export interface MonitorOptions {
  /** No separate server (the raw hash phase): null. */
  readonly serverPid: number | null;
  /** Count the server's child processes with it (the workers of WORKERS > 1), as they are when the window opens. */
  readonly serverChildren?: boolean;
  /** The PostgreSQL backend pids serving the benchmark, looked up as the window opens. */
  readonly postgresPids?: () => Promise<readonly number[]>;
  readonly sampleMs?: number;
}

const MB = 1024 * 1024;

function cpuOf(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      seconds.set(pid, processCPUSeconds(pid));
    } catch {
      // The backend ended; it simply stops counting.
    }
  }
  return seconds;
}

function cpuSince(before: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, start] of before) {
    try {
      total += processCPUSeconds(pid) - start;
    } catch {
      // Ended during the window: its share is lost, which only understates PostgreSQL.
    }
  }
  return total;
}

/** The process and its children (Linux: /proc/PID/task/PID/children). */
function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter((word) => word !== '').map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

export function createWindowMonitor(options: MonitorOptions): WindowMonitor {
  const { serverPid } = options;
  const serverPids = (): number[] => (serverPid === null ? [] : options.serverChildren === true ? withChildren(serverPid) : [serverPid]);
  const sampleMs = options.sampleMs ?? 200;
  const rss: number[] = [];
  const pss = { main: 0, children: 0, childCount: 0 };
  const perProcess = { main: 0, childMax: 0 };
  let timer: NodeJS.Timeout | null = null;
  let begin: { wall: number; server: Map<number, number>; threads: Map<string, number>; self: NodeJS.CpuUsage; machine: { busy: number; total: number } } | null = null;
  const threadsOf = (pids: readonly number[]): Map<string, number> => {
    const total = new Map<string, number>();
    for (const pid of pids) for (const [name, seconds] of threadCPUSeconds(pid)) total.set(name, (total.get(name) ?? 0) + seconds);
    return total;
  };
  let postgresBegin: Map<number, number> = new Map<number, number>();
  let result: WindowUsage | null = null;

  const sample = (): void => {
    if (serverPid === null) return;
    const bytes = serverPids().reduce<number | null>((sum, pid) => {
      const resident = residentBytes(pid);
      return resident === null ? sum : (sum ?? 0) + resident;
    }, null);
    if (bytes !== null) rss.push(bytes);
    const [main, ...children] = serverPids();
    if (main !== undefined) {
      perProcess.main = Math.max(perProcess.main, residentBytes(main) ?? 0);
      for (const child of children) perProcess.childMax = Math.max(perProcess.childMax, residentBytes(child) ?? 0);
      pss.main = Math.max(pss.main, proportionalBytes(main) ?? 0);
      pss.children = Math.max(pss.children, children.reduce((sum, pid) => sum + (proportionalBytes(pid) ?? 0), 0));
      pss.childCount = Math.max(pss.childCount, children.length);
    }
  };
  const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

  return {
    start() {
      begin = { wall: performance.now(), server: cpuOf(serverPids()), threads: threadsOf(serverPids()), self: process.cpuUsage(), machine: machineCPUSeconds() };
      // A few milliseconds late at most: the lookup is one query on an open connection.
      options.postgresPids?.().then(
        (pids) => { postgresBegin = cpuOf(pids); },
        () => { postgresBegin = new Map<number, number>(); },
      );
      sample();
      timer = setInterval(sample, sampleMs);
    },
    end() {
      if (begin === null) return;
      if (timer !== null) clearInterval(timer);
      sample();
      const seconds = (performance.now() - begin.wall) / 1000;
      const self = process.cpuUsage(begin.self);
      const machine = machineCPUSeconds();
      const busy = (machine.busy - begin.machine.busy) / seconds;
      const total = machine.total - begin.machine.total;
      const serverCores = cpuSince(begin.server) / seconds;
      const loadGeneratorCores = (self.user + self.system) / 1e6 / seconds;
      const postgresCores = cpuSince(postgresBegin) / seconds;
      const serverThreads: Record<string, number> = {};
      for (const [name, total] of threadsOf(serverPids())) {
        const cores = (total - (begin.threads.get(name) ?? 0)) / seconds;
        if (cores > 0) serverThreads[name] = round(cores);
      }
      result = {
        serverCores: round(serverCores),
        loadGeneratorCores: round(loadGeneratorCores),
        postgresCores: round(postgresCores),
        foreignCores: round(Math.max(0, busy - serverCores - loadGeneratorCores - postgresCores)),
        machineBusyPercent: round(total > 0 ? (100 * (machine.busy - begin.machine.busy)) / total : Number.NaN, 1),
        rssMB: {
          mean: rss.length === 0 ? Number.NaN : round(mean(rss) / MB, 1),
          max: rss.length === 0 ? Number.NaN : round(Math.max(...rss) / MB, 1),
          samples: rss.length,
        },
        pssMB: { main: round(pss.main / MB, 1), children: round(pss.children / MB, 1), childCount: pss.childCount },
        rssPerProcessMB: { main: round(perProcess.main / MB, 1), childMax: round(perProcess.childMax / MB, 1) },
        serverThreads,
      };
    },
    usage() {
      return result;
    },
  };
}
