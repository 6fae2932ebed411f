// `npm run bench:startup`: how long the server takes to start on the default embedded
// database (PGlite in DATA_DIR), and how much memory it holds when idle.
//
//   npm run bench:startup -- [--settle 10] [--starts 2] [--keep] [--mappings]
//     [--server-node-options="--flag ..."]
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
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../src/process-tuning.ts';
import { freePort, serverEnv, stopServer, waitReady } from './lib/serve.ts';
import { readFileSync } from 'node:fs';
import { exitedChildrenCPUSeconds, peakResidentBytes, processCPUSeconds, residentBytes } from './lib/proc.ts';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
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
}

async function measureStart(label: string, dataDir: string, options: MeasureOptions): Promise<StartResult> {
  const { settleMs, showMappings, nodeFlags } = options;
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeFlags, MAIN, 'serve'], {
    env: serverEnv(dataDir, port),
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      settle: { type: 'string', default: '10' },
      starts: { type: 'string', default: '2' },
      keep: { type: 'boolean', default: false },
      mappings: { type: 'boolean', default: false },
      'server-node-options': { type: 'string', default: '' },
    },
  });
  const settleMs = Number(values.settle) * 1000;
  const starts = Number(values.starts);
  if (!Number.isFinite(settleMs) || settleMs < 0 || settleMs > 600_000) throw new Error('--settle must be 0..600 seconds');
  if (!Number.isInteger(starts) || starts < 1 || starts > 10) throw new Error('--starts must be 1..10');
  const nodeFlags = values['server-node-options'].split(' ').filter((flag) => flag !== '');
  if (nodeFlags.some((flag) => !flag.startsWith('--'))) throw new Error('--server-node-options takes Node flags (--name[=value])');
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-startup-'));
  const results: StartResult[] = [];
  try {
    for (let n = 1; n <= starts; n += 1) {
      const label = n === 1 ? 'first (empty DATA_DIR)' : `again (#${n})`;
      results.push(await measureStart(label, dataDir, { settleMs, showMappings: values.mappings, nodeFlags }));
      console.log(`${label}: ready in ${(results.at(-1)?.readyMs ?? 0).toFixed(0)} ms`);
    }
  } finally {
    if (values.keep) console.log(`DATA_DIR kept: ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
  console.log(`\nPGlite in DATA_DIR, node ${process.version}, ${[...SERVER_NODE_FLAGS, ...nodeFlags].join(' ')} ${Object.entries(SERVER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}, idle = ${settleMs / 1000} s after ready\n`);
  console.log(formatTable(results));
}

await main();
