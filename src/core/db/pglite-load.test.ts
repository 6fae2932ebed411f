// An in-memory PGlite started from a dumpDataDir() tarball, as every test database is
// (test/helpers/database.ts). Such a dump is of a running database, so PostgreSQL recovers
// it at start, and recovery armed its startup-progress timer: in PGlite a Node.js timer
// that was never cleared, so a test process that left a clone open never exited.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DATABASE_MODULE = fileURLToPath(new URL('./database.ts', import.meta.url));
// Generous for a loaded 2-core machine; the child needs a few seconds.
const EXIT_BOUND_MS = 90_000;

// The child clones a dumped database, queries it and returns without closing it.
const CHILD = `
const { openPGlite } = await import(${JSON.stringify(DATABASE_MODULE)});
const original = await openPGlite({ engine: 'pglite', dataDir: null });
await original.scriptTransaction((session) => session.exec('CREATE TABLE kept (n integer); INSERT INTO kept VALUES (7)'));
const dump = await original.dumpDataDir();
await original.close();
const clone = await openPGlite({ engine: 'pglite', dataDir: null, loadDataDir: dump });
const rows = await clone.scriptTransaction((session) => session.query('SELECT n FROM kept', []));
process.stdout.write(JSON.stringify(rows));
`;

function runChild(): Promise<{ code: number | null; stdout: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--liftoff-only', '--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, EXIT_BOUND_MS);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, timedOut });
    });
  });
}

describe('an in-memory PGlite loaded from a dump', () => {
  it('holds the dumped rows, and left open does not keep its process alive', async () => {
    const result = await runChild();
    assert.equal(result.timedOut, false, 'the process exited by itself');
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout), [{ n: 7 }]);
  });
});
