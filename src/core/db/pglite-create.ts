// Creating PGlite's database in an empty DATA_DIR, in a short-lived child process.
//
// PGlite creates a database by running initdb in a second, in-memory PGlite and copying
// the result into the directory through a tar archive held in memory. Done in the
// server's own process, that peaked near 600 MB and left about 65 MB of malloc's heap
// resident for the server's whole life (npm run bench:startup: idle 271 MiB after a first
// start, 235 MiB after a restart). In a child, all of it goes back to the system when the
// child exits, and the server then opens the directory exactly as on every later start.
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../../process-tuning.ts';

// PGlite's default is PostgreSQL's 128 MB of shared buffers, all of it touched at start
// in the WebAssembly heap. PGlite reads DATA_DIR through the kernel's page cache, so
// 16 MB of buffers (wal_buffers follows at 1/32) costs little speed here.
// log_startup_progress_interval=0: a database that was not shut down cleanly (a crash, or
// a tarball dumped while running, which is how the tests clone theirs) is recovered at
// start, and recovery arms PostgreSQL's startup-progress timer (every 10 s by default).
// In PGlite that timer is a Node.js setTimeout that is never cleared, so it kept the
// process alive after its work was done; the progress lines it would log go nowhere here.
export const PGLITE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams,
  '-c',
  'shared_buffers=16MB',
  '-c',
  'log_startup_progress_interval=0',
];

// initdb takes about 3 s of CPU; a machine busy with other work may stretch that a lot.
const CREATE_TIMEOUT_MS = 300_000;
const STDERR_KEPT = 4096;

async function holdsDatabase(dataDir: string): Promise<boolean> {
  try {
    await access(join(dataDir, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}

function runCreateProcess(dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, fileURLToPath(import.meta.url), dataDir], {
      // initdb needs none of the server's configuration, so it is given none of its secrets.
      env: { ...SERVER_ENV, ...(process.env['TMPDIR'] === undefined ? {} : { TMPDIR: process.env['TMPDIR'] }) },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: CREATE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const reason = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
        reject(new Error(`creating the PGlite database in ${dataDir} failed (${reason}): ${stderr.trim()}`));
      }
    });
  });
}

/** Creates PGlite's database in `dataDir` unless it holds one already; says which. */
export async function createPGliteDirectory(dataDir: string): Promise<'created' | 'existing'> {
  if (await holdsDatabase(dataDir)) return 'existing';
  await runCreateProcess(dataDir);
  return 'created';
}

// The child: initdb into the directory named by the parent, then exit.
if (import.meta.main) {
  const dataDir = process.argv[2];
  if (dataDir === undefined) throw new Error('usage: pglite-create.ts DATA_DIR');
  const client = await PGlite.create(dataDir, { startParams: [...PGLITE_START_PARAMS] });
  await client.close();
}
