// Versioned SQL migrations, the same files for PGlite and PostgreSQL. Each applied file
// is recorded with its SHA-256; an applied file whose content changed is refused, since
// the database no longer matches what the file claims to have done.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, ScriptSession } from './database.ts';

export const MIGRATIONS_DIR = new URL('../../../migrations/', import.meta.url).pathname;

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Any fixed 64-bit number shared by every instance: concurrent starts migrate one at a time.
const MIGRATION_LOCK_ID = 7_201_445_118_032;

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly sql: string;
}

export interface MigrationStatus {
  readonly applied: number[];
  readonly pending: number[];
  /** Versions whose recorded checksum differs from the file on disk. */
  readonly modified: number[];
  /** Versions recorded in the database with no file (a newer build ran here). */
  readonly unknown: number[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export async function readMigrationFiles(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const match = FILE_PATTERN.exec(fileName);
    if (match === null) throw new MigrationError(`migration file name not understood: ${fileName}`);
    const sql = await readFile(join(dir, fileName), 'utf8');
    files.push({
      version: Number(match[1]),
      name: match[2] ?? '',
      checksum: createHash('sha256').update(sql).digest('hex'),
      sql,
    });
  }
  const versions = files.map((file) => file.version);
  if (new Set(versions).size !== versions.length) throw new MigrationError('two migration files share a version');
  return files;
}

interface AppliedRow {
  version: number;
  checksum: string;
}

async function readApplied(session: ScriptSession): Promise<AppliedRow[]> {
  return session.query<AppliedRow>('SELECT version, checksum FROM schema_migrations ORDER BY version', []);
}

function compare(files: readonly MigrationFile[], applied: readonly AppliedRow[]): MigrationStatus {
  const byVersion = new Map(applied.map((row) => [row.version, row.checksum]));
  const fileVersions = new Set(files.map((file) => file.version));
  return {
    applied: applied.map((row) => row.version),
    pending: files.filter((file) => !byVersion.has(file.version)).map((file) => file.version),
    modified: files
      .filter((file) => byVersion.has(file.version) && byVersion.get(file.version) !== file.checksum)
      .map((file) => file.version),
    unknown: applied.filter((row) => !fileVersions.has(row.version)).map((row) => row.version),
  };
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function tableExists(session: ScriptSession): Promise<boolean> {
  const rows = await session.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present", []);
  return rows[0]?.present === true;
}

/** Throws when the database's migrations are not this build's: one changed on disk, or one it does not know. */
function refuseForeign(status: MigrationStatus): void {
  if (status.modified.length > 0) {
    throw new MigrationError(`applied migration changed on disk: ${status.modified.join(', ')}`);
  }
  if (status.unknown.length > 0) {
    throw new MigrationError(`database has migrations this build does not know: ${status.unknown.join(', ')}`);
  }
}

/**
 * Throws unless the database holds exactly this build's migrations: for a process that
 * serves without migrating (a WORKERS worker, whose primary migrated before forking it),
 * refused where a single process's `migrate` would refuse, and where it would still have
 * work to do.
 */
export async function requireCurrentSchema(database: Database, dir: string = MIGRATIONS_DIR): Promise<void> {
  const status = await migrationStatus(database, dir);
  refuseForeign(status);
  if (status.pending.length > 0) {
    throw new MigrationError(`database lacks migrations this build needs: ${status.pending.join(', ')} (gatehouse migrate applies them)`);
  }
}

/** Applies every pending migration in one transaction; returns the versions applied. */
export async function migrate(database: Database, dir: string = MIGRATIONS_DIR): Promise<number[]> {
  const files = await readMigrationFiles(dir);
  return database.scriptTransaction(async (session) => {
    await session.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    // No DDL unless something is pending: PostgreSQL checks CREATE on the schema even for
    // IF NOT EXISTS, and a least-privilege role (docs/operations.md) has none, so a
    // server running as that role starts whenever the owner has migrated first.
    if (!(await tableExists(session))) await session.exec(CREATE_TABLE);
    const status = compare(files, await readApplied(session));
    refuseForeign(status);
    const pending = files.filter((file) => status.pending.includes(file.version));
    await applyMigrationFiles(session, pending);
    return pending.map((file) => file.version);
  });
}

/**
 * Runs `files` in order on a session whose transaction the caller holds, recording each,
 * on a database with no schema yet or one `migrate` has checked. `migrate` uses it, and so
 * does a backup restore, which re-creates the backup's schema version before loading it.
 */
export async function applyMigrationFiles(session: ScriptSession, files: readonly MigrationFile[]): Promise<void> {
  if (!(await tableExists(session))) await session.exec(CREATE_TABLE);
  for (const file of files) {
    await session.exec(file.sql);
    await session.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      file.version,
      file.name,
      file.checksum,
    ]);
  }
}

/** Read-only comparison of the database with the files, for /readyz and `migrate --status`. */
export async function migrationStatus(database: Database, dir: string = MIGRATIONS_DIR): Promise<MigrationStatus> {
  const files = await readMigrationFiles(dir);
  return database.scriptTransaction(async (session) => {
    const applied = (await tableExists(session)) ? await readApplied(session) : [];
    return compare(files, applied);
  });
}

export function isCurrent(status: MigrationStatus): boolean {
  return status.pending.length === 0 && status.modified.length === 0 && status.unknown.length === 0;
}
