// `npm run bench:startup`: how long the server takes to start on the default embedded
// database (PGlite in DATA_DIR), and how much memory it holds when idle.
//
//   npm run bench:startup -- [--settle 10] [--starts 2] [--keep] [--mappings]
//     [--server-node-options="--flag ..."] [--postgres] [--entry main|bin]
//
// From a fresh, empty temporary DATA_DIR the server is started as `npm start` starts it
// (with the flags and environment of src/process-tuning.ts), in development
// mode with no DATABASE_URL, REDIS_URL or master key (a development key is generated).
// For each start it reports the time from spawn to the first `/readyz` 200, the CPU time
// the server and the children it ran used by then (steadier than wall time on a shared
// machine), the resident set (VmRSS of the server process) `--settle` seconds later, and
// the server process's peak (VmHWM).
// The first start creates and migrates the database; later starts reuse DATA_DIR.
// --keep leaves DATA_DIR in place; --mappings lists the largest resident mappings;
// --server-node-options adds Node flags to the server's (to try one).
// --postgres starts on a fresh PostgreSQL database instead (DATABASE_URL_BENCH, else
// DATABASE_URL_TEST, else the local server), migrated first by `gatehouse migrate`, so every
// start finds its migrations current. --entry bin starts through bin/gatehouse.mjs (what
// `npm start` and the container run: it keeps Node's compile cache, so the first start
// fills it and later ones read it) instead of src/main.ts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../src/process-tuning.ts';
import { freePort, serverEnv, stopServer, waitReady } from './lib/serve.ts';
import { createBenchDatabase, postgresBaseURL } from './lib/postgres.ts';
import { readFileSync } from 'node:fs';
import { exitedChildrenCPUSeconds, peakResidentBytes, processCPUSeconds, residentBytes } from './lib/proc.ts';

const ENTRIES = { main: new URL('../src/main.ts', import.meta.url).pathname, bin: new URL('../bin/gatehouse.mjs', import.meta.url).pathname } as const;
const MIB = 1024 * 1024;

interface StartResult {
  readonly label: string;
  readonly readyMs: number;
  /** CPU seconds (user + system) the server and its exited children used until ready: steadier than wall time on a busy machine. */
  readonly readyCPU: number;
  readonly rssAtReady: number;
  readonly idleRss: number;
  readonly peakRss: number;
}

// The largest resident mappings of the process, for --mappings: the WebAssembly memory of
// PGlite is one anonymous mapping of its whole size, malloc's heap is [heap].
function largestMappings(pid: number, count: number): string[] {
  const mappings: { name: string; size: number; rss: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) mappings.push({ name: `${head[3] ?? ''} ${head[4] ?? ''}`, size: parseInt(head[2] ?? '0', 16) - parseInt(head[1] ?? '0', 16), rss: 0 });
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    const last = mappings.at(-1);
    if (rss !== null && last !== undefined) last.rss = Number(rss[1]) * 1024;
  }
  return mappings
    .sort((a, b) => b.rss - a.rss)
    .slice(0, count)
    .map((m) => `  ${(m.rss / MIB).toFixed(0).padStart(5)} MiB resident of ${(m.size / MIB).toFixed(0).padStart(6)} MiB  ${m.name}`);
}

interface MeasureOptions {
  readonly settleMs: number;
  readonly showMappings: boolean;
  readonly nodeFlags: readonly string[];
  readonly entry: string;
  /** DATABASE_URL and a master key, for --postgres. */
  readonly env: Readonly<Record<string, string>>;
}

async function measureStart(label: string, dataDir: string, options: MeasureOptions): Promise<StartResult> {
  const { settleMs, showMappings, nodeFlags, entry } = options;
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeFlags, entry, 'serve'], {
    env: { ...serverEnv(dataDir, port), ...options.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server');
  try {
    await waitReady(child, port);
    const readyMs = performance.now() - started;
    const readyCPU = processCPUSeconds(pid) + exitedChildrenCPUSeconds(pid);
    const rssAtReady = residentBytes(pid) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    if (showMappings) console.log(`${label}, largest mappings when idle:\n${largestMappings(pid, 8).join('\n')}`);
    return { label, readyMs, readyCPU, rssAtReady, idleRss: residentBytes(pid) ?? 0, peakRss: peakResidentBytes(pid) ?? 0 };
  } finally {
    await stopServer(child);
  }
}

function formatTable(results: readonly StartResult[]): string {
  const header = ['start', 'to /readyz', 'CPU to ready', 'RSS at ready', 'RSS idle', 'peak RSS'];
  const rows = results.map((result) => [
    result.label,
    `${(result.readyMs / 1000).toFixed(2)} s`,
    `${result.readyCPU.toFixed(2)} s`,
    `${(result.rssAtReady / MIB).toFixed(0)} MiB`,
    `${(result.idleRss / MIB).toFixed(0)} MiB`,
    `${(result.peakRss / MIB).toFixed(0)} MiB`,
  ]);
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** `gatehouse migrate` on the database, so the starts measured find nothing to apply. */
async function migrated(dataDir: string, env: Readonly<Record<string, string>>): Promise<void> {
  const child = spawn(process.execPath, [ENTRIES.main, 'migrate'], { env: { ...serverEnv(dataDir, 8080), ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`gatehouse migrate exited with ${String(code)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      settle: { type: 'string', default: '10' },
      starts: { type: 'string', default: '2' },
      keep: { type: 'boolean', default: false },
      mappings: { type: 'boolean', default: false },
      'server-node-options': { type: 'string', default: '' },
      postgres: { type: 'boolean', default: false },
      entry: { type: 'string', default: 'main' },
    },
  });
  const entryName = values.entry;
  if (entryName !== 'main' && entryName !== 'bin') throw new Error('--entry is main or bin');
  const settleMs = Number(values.settle) * 1000;
  const starts = Number(values.starts);
  if (!Number.isFinite(settleMs) || settleMs < 0 || settleMs > 600_000) throw new Error('--settle must be 0..600 seconds');
  if (!Number.isInteger(starts) || starts < 1 || starts > 10) throw new Error('--starts must be 1..10');
  const nodeFlags = values['server-node-options'].split(' ').filter((flag) => flag !== '');
  if (nodeFlags.some((flag) => !flag.startsWith('--'))) throw new Error('--server-node-options takes Node flags (--name[=value])');
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-startup-'));
  const database = values.postgres ? await createBenchDatabase(postgresBaseURL(process.env)) : null;
  const env: Record<string, string> = database === null ? {} : { DATABASE_URL: database.url, GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}` };
  const results: StartResult[] = [];
  try {
    if (database !== null) await migrated(dataDir, env);
    for (let n = 1; n <= starts; n += 1) {
      const label = database !== null ? `#${n} (migrations current)` : n === 1 ? 'first (empty DATA_DIR)' : `again (#${n})`;
      results.push(await measureStart(label, dataDir, { settleMs, showMappings: values.mappings, nodeFlags, entry: ENTRIES[entryName], env }));
      console.log(`${label}: ready in ${(results.at(-1)?.readyMs ?? 0).toFixed(0)} ms`);
    }
  } finally {
    await database?.drop();
    if (values.keep) console.log(`DATA_DIR kept: ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
  console.log(`\n${database === null ? 'PGlite in DATA_DIR' : `PostgreSQL ${database.serverVersion}`}, ${entryName === 'bin' ? 'bin/gatehouse.mjs' : 'src/main.ts'}, node ${process.version}, ${[...SERVER_NODE_FLAGS, ...nodeFlags].join(' ')} ${Object.entries(SERVER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}, idle = ${settleMs / 1000} s after ready\n`);
  console.log(formatTable(results));
}

await main();
