// `npm run bench`: the authentication benchmark, end to end, then the MFA login
// benchmark (bench/mfa-login.ts), in one run.
//
//   npm run bench -- [--benchmarks auth,mfa-login] [--seconds 10] [--warmup 2] [--engines postgres,pglite]
//     [--phases login,me,bare,refresh] [--users 200] [--hash-clients 4]
//     [--login-clients 16] [--me-clients 32] [--refresh-clients 32] [--cpu-prof DIR]
//     [--wait-quiet SECONDS] [--server-node-options="--expose-gc --max-semi-space-size=8"]
//     [--mfa-pairs 30] [--login-overhead]
//
// PostgreSQL: DATABASE_URL_BENCH, else DATABASE_URL_TEST, else
// postgres://postgres@127.0.0.1:5432/test names the server; a fresh database is created
// and dropped. All traffic goes to 127.0.0.1. Writes bench/results/auth.json.
// The MFA login benchmark injects its requests (nothing listens) and runs on PGlite, and
// on PostgreSQL only when DATABASE_URL_BENCH (or DATABASE_URL_TEST) names a server;
// it writes bench/results/mfa-login.json.
// --cpu-prof writes the server process's CPU profile into DIR; --wait-quiet waits (up to
// SECONDS) for other work on the machine to finish before measuring; --server-node-options
// passes flags to the server's Node (with --expose-gc the memory table adds the live heap).
// --login-overhead makes the server hash at Argon2id's minimum cost, so a login's CPU is
// everything but the hash (the work the login goal's ratio leaves to spare); a diagnostic
// for profiling that work, with no login goal in its report.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Engine } from '../src/core/db/database.ts';
import { PHASES, QUIET_BUSY_PERCENT, RAISED_LIMITS, runAuthBenchmark, type AuthBenchOptions, type PhaseName } from './auth.ts';
import { runMfaLoginBenchmark } from './mfa-login.ts';
import { formatMfaLogin } from './lib/mfa-report.ts';
import { postgresBaseURL } from './lib/postgres.ts';
import { nodeFlags } from './lib/serve.ts';
import { evaluateGoals, formatGoals, formatLoginCeilings, formatMemory, formatResults, formatThreads, loginCeilings } from './lib/report.ts';

const RESULTS = new URL('./results/', import.meta.url);
const ENGINES: readonly Engine[] = ['postgres', 'pglite'];
const BENCHMARKS = ['auth', 'mfa-login'] as const;
type BenchmarkName = (typeof BENCHMARKS)[number];
// The MFA login benchmark's bounded work: matchTotp and verifySecondFactor calls.
const MFA_MATCH_CALLS = 20_000;
const MFA_VERIFY_CALLS = 500;
// Foreign CPU above this during a window is called out under the results.
const FOREIGN_CORES_NOTED = 0.1;

function listOf<T extends string>(raw: string, allowed: readonly T[], what: string): T[] {
  const items = raw.split(',').filter((item) => item !== '');
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) throw new Error(`unknown ${what} ${unknown.join(', ')}; choose from ${allowed.join(', ')}`);
  return items as T[];
}

function bounded(raw: string, name: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return value;
}

interface RunOptions {
  readonly benchmarks: readonly BenchmarkName[];
  readonly mfaPairs: number;
  readonly auth: Omit<AuthBenchOptions, 'signal'>;
}

function readOptions(): RunOptions {
  const { values } = parseArgs({
    options: {
      benchmarks: { type: 'string', default: BENCHMARKS.join(',') },
      'mfa-pairs': { type: 'string', default: '30' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      engines: { type: 'string', default: ENGINES.join(',') },
      phases: { type: 'string', default: PHASES.join(',') },
      users: { type: 'string', default: '200' },
      'hash-clients': { type: 'string', default: '4' },
      'login-clients': { type: 'string', default: '16' },
      'me-clients': { type: 'string', default: '32' },
      'refresh-clients': { type: 'string', default: '32' },
      'cpu-prof': { type: 'string' },
      'wait-quiet': { type: 'string', default: '0' },
      'server-node-options': { type: 'string', default: '' },
      'login-overhead': { type: 'boolean', default: false },
    },
  });
  const profileDir = values['cpu-prof'];
  const auth = {
    warmupMs: bounded(values.warmup, 'warmup', 0, 30) * 1000,
    durationMs: bounded(values.seconds, 'seconds', 1, 60) * 1000,
    engines: listOf(values.engines, ENGINES, 'engine'),
    phases: listOf<PhaseName>(values.phases, PHASES, 'phase'),
    users: bounded(values.users, 'users', 64, 10_000),
    concurrency: {
      hash: bounded(values['hash-clients'], 'hash-clients', 1, 64),
      login: bounded(values['login-clients'], 'login-clients', 1, 64),
      me: bounded(values['me-clients'], 'me-clients', 1, 64),
      refresh: bounded(values['refresh-clients'], 'refresh-clients', 1, 64),
    },
    postgresBaseURL: postgresBaseURL(process.env),
    serverExecArgv: [...nodeFlags(values['server-node-options']), ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`])],
    waitQuietMs: bounded(values['wait-quiet'], 'wait-quiet', 0, 3600) * 1000,
    loginOverhead: values['login-overhead'],
    progress: (line: string) => { console.log(line); },
  };
  return {
    benchmarks: listOf(values.benchmarks, BENCHMARKS, 'benchmark'),
    mfaPairs: bounded(values['mfa-pairs'], 'mfa-pairs', 5, 500),
    auth,
  };
}

async function runMfaLogin(run: RunOptions): Promise<void> {
  // PostgreSQL only when a server is named, as the other by-hand benchmarks do.
  const named = (process.env['DATABASE_URL_BENCH'] ?? process.env['DATABASE_URL_TEST'] ?? '') !== '';
  const engines = run.auth.engines.filter((engine) => engine === 'pglite' || named);
  const report = await runMfaLoginBenchmark({
    engines,
    postgresBaseURL: run.auth.postgresBaseURL,
    pairs: run.mfaPairs,
    matchCalls: MFA_MATCH_CALLS,
    verifyCalls: MFA_VERIFY_CALLS,
    progress: run.auth.progress,
  });
  console.log('');
  console.log(formatMfaLogin(report));
  await mkdir(RESULTS, { recursive: true });
  await writeFile(new URL('mfa-login.json', RESULTS), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${new URL('mfa-login.json', RESULTS).pathname}`);
}

async function main(): Promise<void> {
  const run = readOptions();
  if (run.benchmarks.includes('auth')) await runAuth(run);
  if (run.benchmarks.includes('mfa-login')) await runMfaLogin(run);
}

async function runAuth(run: RunOptions): Promise<void> {
  const interrupted = new AbortController();
  process.once('SIGINT', () => {
    console.log('\ninterrupted: stopping the server and dropping the database (Ctrl-C again to quit at once)');
    interrupted.abort();
  });
  const options = { ...run.auth, signal: interrupted.signal };
  const report = await runAuthBenchmark(options);
  const goals = evaluateGoals(report);
  const limits = Object.entries(RAISED_LIMITS).map(([name, value]) => `${name}=${value}`).join(' ');
  console.log('');
  console.log(`Gatehouse auth benchmark, ${report.date}: Node ${report.node}, ${report.machine.cpus} × ${report.machine.model}, PostgreSQL ${report.postgres ?? '-'}`);
  console.log(`${report.measuredSeconds} s measured after ${report.warmupSeconds} s warm-up per phase; ${report.users} users; server in a child process, load generator (node:http keep-alive) in this one.`);
  const cost = report.engines[0]?.hash.cost;
  console.log(`argon2id cost m=${cost?.memoryKiB ?? '-'} KiB t=${cost?.passes ?? '-'} p=${cost?.parallelism ?? '-'} (production default${report.loginOverhead ? '; the server hashes at m=8 KiB t=1 (--login-overhead): its login is everything but the hash, and no login goal is measured' : ''}); server libuv pool ${report.engines[0]?.serverThreadpool ?? '-'} threads, PostgreSQL pool ${report.engines.find((engine) => engine.poolMax !== null)?.poolMax ?? '-'}.`);
  console.log(`Limits raised for the benchmark (not production values): ${limits}`);
  const quiet = report.machine.busyBeforePercent <= QUIET_BUSY_PERCENT;
  console.log(`Machine before the run: ${report.machine.busyBeforePercent}% busy, load average ${report.machine.loadAverageBefore.join(' ')}${quiet ? '' : ' (NOT QUIET: other work competed for the CPUs; treat rates as lower bounds)'}.`);
  console.log('cores: CPU used during the window by the server process (all threads), the PostgreSQL backends of the benchmark database, this load generator, and everything else ("foreign": other work on the machine).');
  console.log('µs/op: CPU per operation; "quiet proj." is the rate those costs allow on this machine with no foreign work (see bench/lib/report.ts).');
  console.log('');
  console.log(formatResults(report));
  console.log('');
  console.log(formatMemory(report));
  for (const engine of report.engines) {
    console.log(engine.typeStripperLoaded
      ? `${engine.engine}: the server loaded Node's type stripper (a module was not in its compile cache yet), about 12 MB a \`gatehouse serve\` after its first start does not hold: run again for the memory of such a start.`
      : `${engine.engine}: every module came from the compile cache, as in a \`gatehouse serve\` after its first start (Node's type stripper not loaded).`);
  }
  console.log('');
  console.log(formatThreads(report));
  console.log('');
  console.log(formatGoals(goals));
  const ceilings = loginCeilings(report);
  if (ceilings.length > 0) {
    console.log('');
    console.log('What this machine allows login ÷ hash to reach (CPU-bound phases; bench/lib/report.ts): the ratio a server spending nothing beside the hash would get, and the server CPU per login beside the hash that 0.9 leaves (negative: none).');
    console.log(formatLoginCeilings(ceilings));
  }
  const contaminated = report.engines.flatMap((engine) =>
    [['hash', engine.hash] as const, ...Object.entries(engine.phases)]
      .filter(([, phase]) => (phase.usage?.foreignCores ?? 0) > FOREIGN_CORES_NOTED)
      .map(([name, phase]) => `${engine.engine} ${name} (${phase.usage?.foreignCores ?? '?'} cores)`),
  );
  if (contaminated.length > 0) {
    console.log(`\nOther work used the CPUs during: ${contaminated.join(', ')}. Measured rates there are low; the quiet projections are the better guide.`);
  }
  const errors = report.engines.flatMap((engine) => [engine.hash, ...Object.values(engine.phases)]).reduce((sum, phase) => sum + phase.errors, 0);
  if (errors > 0) {
    console.log(`\n${errors} requests failed during measured windows: the figures above are not trustworthy.`);
    process.exitCode = 1;
  }
  if (interrupted.signal.aborted) console.log('\nInterrupted: the figures above are partial.');
  await mkdir(RESULTS, { recursive: true });
  await writeFile(new URL('auth.json', RESULTS), `${JSON.stringify({ ...report, interrupted: interrupted.signal.aborted, goals, loginCeilings: ceilings }, null, 2)}\n`);
  console.log(`\nwrote ${new URL('auth.json', RESULTS).pathname}`);
}

await main();
