// How many Argon2id password hashes per second this machine computes with the default
// parameters (m=19456 KiB, t=2, p=1), at a few concurrency levels. Not a test: run it by hand.
//
//   npm exec -- node bench/password-hash.ts [--seconds 5] [--concurrency 2,4]
//
// Each hash runs on the libuv thread pool (UV_THREADPOOL_SIZE, 4 by default), so beyond
// one hash per core the extra concurrency only queues: throughput stays flat while each
// hash's latency grows. The figures go to bench/results/password-hash.json. The login
// benchmark reuses measureHashesPerSecond as its ceiling for password checks per second.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createPasswordHasher, DEFAULT_ARGON2_COST, type PasswordHasher } from '../src/core/password/hash.ts';

const RESULTS = new URL('./results/', import.meta.url);
const WARMUP_MS = 1000;

export interface HashThroughput {
  readonly concurrency: number;
  readonly hashes: number;
  readonly elapsedMs: number;
  readonly hashesPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * Process CPU time (all threads) per hash. Unlike the wall-clock rate it barely moves
   * when other work shares the machine, so cores × 1000 / cpuMsPerHash estimates the rate
   * of an otherwise idle machine.
   */
  readonly cpuMsPerHash: number;
  /** One-minute load average at the end: other work on a shared machine lowers the figures. */
  readonly loadAverage: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

async function worker(hasher: PasswordHasher, index: number, until: number, latencies: number[]): Promise<void> {
  for (let n = 0; performance.now() < until; n += 1) {
    const started = performance.now();
    await hasher.hash(`bench password ${index} ${n}`);
    latencies.push(performance.now() - started);
  }
}

/**
 * Hashes back to back from `concurrency` concurrent callers for about `durationMs`, with
 * the default parameters unless a hasher is given. Hashes still running at the deadline are
 * waited for and counted, and the rate uses the real elapsed time.
 */
export async function measureHashesPerSecond(
  durationMs: number,
  concurrency: number,
  hasher: PasswordHasher = createPasswordHasher({ concurrency }),
): Promise<HashThroughput> {
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(hasher, index, until, latencies)));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    concurrency,
    hashes: sorted.length,
    elapsedMs: Math.round(elapsedMs),
    hashesPerSecond: round1((sorted.length * 1000) / elapsedMs),
    latencyMs: { p50: round1(percentile(sorted, 50)), p99: round1(percentile(sorted, 99)), max: round1(sorted.at(-1) ?? Number.NaN) },
    cpuMsPerHash: round1((cpu.user + cpu.system) / 1000 / Math.max(1, sorted.length)),
    loadAverage: Math.round((loadavg()[0] ?? Number.NaN) * 100) / 100,
  };
}

function readOptions(): { seconds: number; concurrency: number[] } {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '2,4' } } });
  const seconds = Number(values.seconds);
  const concurrency = values.concurrency.split(',').map(Number);
  if (!(seconds > 0) || concurrency.some((level) => !Number.isSafeInteger(level) || level < 1)) {
    throw new Error('--seconds must be positive and --concurrency a comma-separated list of positive integers');
  }
  return { seconds, concurrency };
}

async function main(): Promise<void> {
  const options = readOptions();
  const hasher = createPasswordHasher();
  const loadBefore = Math.round((loadavg()[0] ?? Number.NaN) * 100) / 100;
  await measureHashesPerSecond(WARMUP_MS, Math.max(...options.concurrency), hasher);
  const results: HashThroughput[] = [];
  for (const concurrency of options.concurrency) results.push(await measureHashesPerSecond(options.seconds * 1000, concurrency, hasher));
  console.table(
    Object.fromEntries(
      results.map((result) => [
        `concurrency ${result.concurrency}`,
        { 'hashes/s': result.hashesPerSecond, hashes: result.hashes, 'p50 ms': result.latencyMs.p50, 'p99 ms': result.latencyMs.p99, 'max ms': result.latencyMs.max, 'CPU ms/hash': result.cpuMsPerHash, 'load avg': result.loadAverage },
      ]),
    ),
  );
  const cpuMs = Math.min(...results.map((result) => result.cpuMsPerHash));
  const report = {
    benchmark: 'password-hash',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    threadPoolSize: Number(process.env['UV_THREADPOOL_SIZE'] ?? 4),
    parameters: { algorithm: 'argon2id', ...DEFAULT_ARGON2_COST, saltBytes: 16, tagBytes: 32 },
    measuredSeconds: options.seconds,
    loadAverageBefore: loadBefore,
    results,
    idleEstimateHashesPerSecond: Math.round((availableParallelism() * 1000) / cpuMs),
  };
  console.log(`idle-machine estimate: ${availableParallelism()} cores × 1000 / ${cpuMs} CPU ms per hash ≈ ${Math.round((availableParallelism() * 1000) / cpuMs)} hashes/s`);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(new URL('password-hash.json', RESULTS), `${JSON.stringify(report, null, 2)}\n`);
}

if (import.meta.main) await main();
