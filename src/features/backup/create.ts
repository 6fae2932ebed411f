// `gatehouse backup create` and the scheduled backup: one consistent snapshot of the whole
// database, streamed as the plaintext of format.ts through gzip and age to a file, in
// bounded memory whatever the size (rows are read through a cursor, 500 at a time, and
// the stream's backpressure paces the reads).
//
// Consistency: every table is read in one REPEATABLE READ, READ ONLY transaction, so the
// backup is the database at one instant (an audit record and the change it records are
// both in it or both not). On PGlite, which has one connection, requests wait while the
// snapshot is read (docs/operations.md gives the figure).
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { link, open, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sql } from 'kysely';
import type { Database, DB, ScriptSession } from '../../core/db/database.ts';
import { VERSION } from '../../version.ts';
import { directoryStore } from '../files/index.ts';
import { getOrCreateSystemKey } from '../../core/crypto/system-keys.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { encrypterFor } from './age.ts';
import { BACKUP_MAC_PURPOSE, backupMAC } from './authenticity.ts';
import { joined } from './streams.ts';
import { readSchemaVersion, readTablePlan, runQuery, type TablePlan } from './catalog.ts';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, BackupError, formatLine, type BackupHeader, type BackupManifest, type BackupTrailer } from './format.ts';

/** As in the FETCH below (a cursor's count cannot be a parameter). */
const FETCH_ROWS = 500;

export interface CreateBackupOptions {
  readonly recipients: readonly string[];
  /** Where the encrypted backup goes; its manifest goes beside it as `<out>.json`. */
  readonly out: string;
  /** FILES_DIR, whose sealed contents are copied too; null when files live in the database. */
  readonly filesDir: string | null;
  readonly now: Date;
  /** Unwraps (or creates) the `backup-mac` key that signs the trailer (authenticity.ts). */
  readonly keyring: Keyring;
}

type Sink = (chunk: string) => Promise<void>;

async function copyTable(session: ScriptSession, db: DB, table: TablePlan, sink: Sink): Promise<number> {
  await sink(formatLine('T', { name: table.name, columns: table.columns }));
  const order = table.primaryKey.length === 0 ? sql`` : sql`ORDER BY ${sql.join(table.primaryKey.map((column) => sql.ref(`t.${column}`)))}`;
  await runQuery(session, db, sql`DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS row FROM ${sql.table(table.name)} AS t ${order}`);
  let count = 0;
  for (;;) {
    const rows = await runQuery<{ row: string }>(session, db, sql`FETCH FORWARD 500 FROM backup_rows`);
    for (const { row } of rows) await sink(`R ${row}\n`);
    count += rows.length;
    if (rows.length < FETCH_ROWS) break;
  }
  await runQuery(session, db, sql`CLOSE backup_rows`);
  return count;
}

/** Sealed contents kept in FILES_DIR for the rows of this snapshot (an empty `content` marks them). */
async function copyFiles(session: ScriptSession, db: DB, filesDir: string, sink: Sink): Promise<number> {
  const store = directoryStore(filesDir);
  const rows = await runQuery<{ user_id: string; id: string }>(session, db, sql`SELECT user_id, id FROM user_files WHERE octet_length(content) = 0 ORDER BY id`);
  let copied = 0;
  for (const row of rows) {
    // Deleted since the snapshot began: the row goes with its account's next deletion anyway.
    const content = await store.load(row.user_id, row.id, new Uint8Array(0));
    if (content === null) continue;
    await sink(formatLine('F', { owner: row.user_id, id: row.id, data: Buffer.from(content).toString('base64') }));
    copied += 1;
  }
  return copied;
}

async function writeSnapshot(database: Database, options: CreateBackupOptions, sink: Sink): Promise<{ header: BackupHeader; trailer: BackupTrailer }> {
  const { db } = database;
  // Before the snapshot begins, so a key made now is in it (the restore unwraps it from there).
  const macKey = await getOrCreateSystemKey(db, options.keyring, BACKUP_MAC_PURPOSE);
  const hash = createHash('sha256');
  const hashed: Sink = async (chunk) => {
    hash.update(chunk, 'utf8');
    await sink(chunk);
  };
  return database.scriptTransaction(async (session) => {    await runQuery(session, db, sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      created_at: options.now.toISOString(),
      engine: database.engine,
      schema_version: await readSchemaVersion(session, db),
      gatehouse_version: VERSION,
    };
 await hashed(formatLine('H', header));    const tables: Record<string, number> = {};
    for (const table of await readTablePlan(session, db)) tables[table.name] = await copyTable(session, db, table, hashed);
    const files = options.filesDir === null ? 0 : await copyFiles(session, db, options.filesDir, hashed);
    const [head] = await runQuery<{ seq: number | string; hash: string }>(session, db, sql`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`);
    const covered = { tables, files, audit_head: head === undefined ? null : { seq: Number(head.seq), hash: head.hash }, sha256: hash.digest('hex') };
    const trailer: BackupTrailer = { ...covered, mac: { key_id: macKey.id, value: backupMAC(macKey.key, covered) } };
    await sink(formatLine('E', trailer));
    return { header, trailer };
  });
}

/** Counts and hashes what passes, to describe the file as written. */
function measure(): { readonly tap: Transform; readonly result: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { tap, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/**
 * Writes the encrypted backup to `options.out` (through a temporary name, synced, then
 * renamed, so a reader never sees half a backup) and its manifest beside it.
 */
export async function createBackup(database: Database, options: CreateBackupOptions): Promise<BackupManifest> {
  const encrypter = await encrypterFor(options.recipients);
  const plaintext = new PassThrough({ highWaterMark: 1 << 20 });
  const encrypted = Readable.fromWeb(await encrypter.encrypt(Readable.toWeb(joined(plaintext, createGzip())) as ReadableStream<Uint8Array>));
  const temporary = `${options.out}.${randomUUID()}.partial`;
  const { tap, result } = measure();
  // `flush`: the file is synced before it closes, so the rename below never publishes a
  // backup whose bytes are still only in the page cache.
  const written = pipeline(encrypted, tap, createWriteStream(temporary, { flags: 'wx', mode: 0o600, flush: true }));
  // A write that fails (a full disk, a missing directory) while the snapshot is still being
  // read must end the snapshot at once: its transaction holds a connection (PGlite's only
  // one), and a rejection nobody awaited yet would end the process.
  let failure: Error | null = null;
  const failed = new Promise<never>((_resolve, reject) => {
    written.catch((error: unknown) => {
      failure = error instanceof Error ? error : new Error(String(error));
      plaintext.destroy();
      reject(failure);
    });
  });
  failed.catch(() => undefined);
  const sink: Sink = async (chunk) => {
    if (failure !== null) throw failure;
    if (!plaintext.write(chunk)) await Promise.race([once(plaintext, 'drain'), failed]);
  };
  try {
    let snapshot: Awaited<ReturnType<typeof writeSnapshot>>;
    try {
      snapshot = await writeSnapshot(database, options, sink);
      plaintext.end();
    } catch (error) {
      plaintext.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    await written;
    const { sha256, bytes } = result();
    const { tables, files, audit_head: auditHead, sha256: plaintextSHA } = snapshot.trailer;
    const manifest: BackupManifest = { ...snapshot.header, tables, files, audit_head: auditHead, plaintext_sha256: plaintextSHA, file_sha256: sha256, file_bytes: bytes, recipients: options.recipients.length };
    await publish(temporary, options.out);
    await writeFile(`${options.out}.json`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return manifest;
  } catch (error) {
    await written.catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Gives the finished file its name without replacing anything there, and makes the name durable. */
async function publish(temporary: string, out: string): Promise<void> {
  try {
    await link(temporary, out);
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST') throw new BackupError(`${out} exists; a backup never replaces a file`);
    throw error;
  }
  await unlink(temporary);
  const directory = await open(dirname(out), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
