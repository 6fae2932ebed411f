// A backup whose file cannot be written fails as an error of its own: never a crash of the
// server (an unawaited rejection ends a Node process) and never a hang holding the
// snapshot's transaction (on PGlite, the only connection), whether the write fails at once
// or while the snapshot is still being read.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPGliteClone } from '../../../test/helpers/database.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import type { Database } from '../../core/db/database.ts';
import { generateBackupIdentity } from './age.ts';
import { createBackup } from './create.ts';
import { BackupError } from './format.ts';

describe('a backup that cannot be written', { timeout: 120_000 }, () => {
  let dir: string;
  let database: Database;
  let recipient: string;
  const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-backup-fail-'));
    database = await openPGliteClone();
    // Enough rows (several MiB of plaintext) that the snapshot is still being read when the write fails.
    await sql`INSERT INTO scheduled_runs (name, last_started_at) SELECT 'job-' || i, now() FROM generate_series(1, 60000) AS i`.execute(database.db);
    ({ recipient } = await generateBackupIdentity());
  });

  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects, releases the database and leaves no partial file, when the directory is missing', async () => {
    const out = join(dir, 'missing', 'backup.age');
    await assert.rejects(createBackup(database, { recipients: [recipient], out, filesDir: null, now: new Date(), keyring }), (error: unknown) => error instanceof Error && 'code' in error && error.code === 'ENOENT');
    // The connection is free again: a query answers.
    const answer = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    assert.equal(answer.rows[0]?.one, 1);
  });

  it('never replaces an existing file, and a second backup to a new name still works', async () => {
    const out = join(dir, 'one.age');
    const manifest = await createBackup(database, { recipients: [recipient], out, filesDir: null, now: new Date(), keyring });
    assert.equal(manifest.tables['scheduled_runs'], 60_000);
    await assert.rejects(createBackup(database, { recipients: [recipient], out, filesDir: null, now: new Date(), keyring }), (error: unknown) => error instanceof BackupError && /exists/.test(error.message));
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.partial')), [], 'no partial file is left behind');
  });
});
