import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from './database.ts';
import { createPGliteDirectory } from './pglite-create.ts';

const MIB = 1024 * 1024;

function peakResidentBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

describe('creating the PGlite database in DATA_DIR', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gh-pglite-create-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  // initdb in the calling process peaks near 600 MB and leaves malloc's heap that much
  // larger; the server must not carry that for its whole life after a first start.
  it('runs initdb outside the calling process, whose peak memory does not grow', { skip: process.platform !== 'linux' }, async () => {
    const dataDir = join(root, 'fresh');
    const peakBefore = peakResidentBytes();
    assert.equal(await createPGliteDirectory(dataDir), 'created');
    await access(join(dataDir, 'PG_VERSION'));
    const growth = peakResidentBytes() - peakBefore;
    assert.ok(growth < 64 * MIB, `the calling process's peak grew by ${Math.round(growth / MIB)} MiB`);
  });

  it('opens a directory that holds a database as it is, keeping its rows', async () => {
    const dataDir = join(root, 'kept');
    const first = await openDatabase({ engine: 'pglite', dataDir });
    try {
      await first.scriptTransaction((session) => session.exec("CREATE TABLE probe (word text); INSERT INTO probe VALUES ('kept');"));
    } finally {
      await first.close();
    }
    assert.equal(await createPGliteDirectory(dataDir), 'existing');
    const second = await openDatabase({ engine: 'pglite', dataDir });
    try {
      const rows = await second.scriptTransaction((session) => session.query<{ word: string }>('SELECT word FROM probe', []));
      assert.deepEqual(rows, [{ word: 'kept' }]);
    } finally {
      await second.close();
    }
  });

  it('survives a directory it cannot create: refused with the reason', async () => {
    const blocker = join(root, 'a-file');
    await writeFile(blocker, 'not a directory');
    await assert.rejects(createPGliteDirectory(join(blocker, 'pglite')), /creating the PGlite database in .*a-file\/pglite failed/);
  });
});
