// `npm test`: every test file, in two node:test runs, one after the other.
//
// - The plain unit files listed in SHARED_PROCESS share one process (--test-isolation=none).
//   Starting a test process and importing costs 0.3–2.5 s of CPU, more than these files'
//   tests take. A file belongs on the list only if it opens no database, starts no server
//   or process, and leaves no process-wide state behind (environment, globals, signal
//   handlers, timers), and does not measure time or CPU, which its neighbours would skew.
//   A file not on the list runs in its own process, so a new file is isolated by default.
// - Every other file runs in its own process, two at a time (this machine has 2 cores),
//   after test/helpers/global-setup.ts has built the migrated database templates that
//   their databases are cloned from.
//
// Both runs (and the test processes they start, which inherit both) use the flag the
// `gatehouse` command runs with, --liftoff-only: PGlite's WebAssembly is not recompiled
// by the optimizing tier in every test process, about 30% less CPU per database test
// file. And Node's compile cache (node_modules/.cache/node-compile-cache, keyed by each
// file's content, so never stale) spares every process most of its ~0.8 s of compiling
// the same modules.
//
// Options given to `npm test -- …` go to both runs. Exits non-zero if either run failed.
import { spawn } from 'node:child_process';
import { glob } from 'node:fs/promises';

export const SHARED_PROCESS: readonly string[] = [
  'src/cli/doctor/doctor.test.ts',
  'src/config/dev-keys.test.ts',
  'src/core/cache.test.ts',
  'src/core/crypto/blind-index.security.test.ts',
  'src/core/crypto/blind-index.test.ts',
  'src/core/crypto/keyring.security.test.ts',
  'src/core/crypto/keyring.test.ts',
  'src/core/crypto/random.test.ts',
  'src/core/db/migrations-column-types.test.ts',
  'src/core/db/unavailable.test.ts',
  'src/core/jobs/retry.test.ts',
  'src/core/password/compact-dictionary.test.ts',
  'src/core/password/hash-slots.test.ts',
  'src/features/auth/session-gate.security.test.ts',
  'src/features/incident/template.security.test.ts',
  'src/features/incident/template.test.ts',
  'src/features/mail/mail.test.ts',
  'src/features/mfa/totp.test.ts',
  'src/features/sessions/successor.test.ts',
  'src/features/tokens/sign-jws.test.ts',
  'src/features/webhooks/events.test.ts',
  'src/process-tuning.test.ts',
  'test/scripts/bench-report.test.ts',
  'test/web/error-messages.test.ts',
  'test/web/session.test.ts',
];

const COMMON = ['--liftoff-only', '--test', '--test-timeout=180000'];
const COMPILE_CACHE = 'node_modules/.cache/node-compile-cache';

function run(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, NODE_COMPILE_CACHE: process.env['NODE_COMPILE_CACHE'] ?? COMPILE_CACHE },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // CI's timeout (and Ctrl-C) signal this process; the runs must stop with it.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGTERM', forward).on('SIGINT', forward);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGTERM', forward).off('SIGINT', forward);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

async function testFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of ['src/**/*.test.ts', 'test/**/*.test.ts']) {
    for await (const file of glob(pattern)) files.push(file);
  }
  return files.sort();
}

if (import.meta.main) {
  const options = process.argv.slice(2);
  const all = await testFiles();
  const missing = SHARED_PROCESS.filter((file) => !all.includes(file));
  if (missing.length > 0) throw new Error(`scripts/run-tests.ts lists files that do not exist: ${missing.join(', ')}`);
  const isolated = all.filter((file) => !SHARED_PROCESS.includes(file));
  process.stdout.write(`== ${SHARED_PROCESS.length} unit files in one process\n`);
  const unit = await run([...COMMON, '--test-isolation=none', ...options, ...SHARED_PROCESS]);
  process.stdout.write(`\n== ${isolated.length} files, each in its own process\n`);
  const rest = await run([...COMMON, '--test-concurrency=2', '--test-global-setup=test/helpers/global-setup.ts', ...options, ...isolated]);
  process.stdout.write(`\n== npm test: unit files ${unit === 0 ? 'passed' : 'FAILED'}; other files ${rest === 0 ? 'passed' : 'FAILED'}\n`);
  process.exitCode = unit !== 0 ? unit : rest;
}
