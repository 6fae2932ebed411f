// Loading a backup into an empty database, in one transaction: the schema the backup was
// taken at (its migration files), every row, the sealed file contents, the proof that
// this installation made it (authenticity.ts), the migrations since, the erasures recorded
// after the backup was taken (erasures.ts), and the checks (checks.ts). Any failure, a
// damaged, cut or forged backup, a key that does not unwrap or a broken audit chain
// included, rolls everything back: the database is left as empty as it was, never half
// restored and never serving an account that was erased. File contents for FILES_DIR are
// staged in a folder of their own and moved into place only after the commit.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Decrypter } from 'age-encryption';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB, Database, ScriptSession } from '../../core/db/database.ts';
import { applyMigrationFiles, readMigrationFiles, type MigrationFile } from '../../core/db/migrate.ts';
import { sessionKysely } from '../../core/db/session-kysely.ts';
import { directoryStore } from '../files/index.ts';
import { erasureQueries } from '../users/index.ts';
import { assertAuthentic } from './authenticity.ts';
import { readTablePlan, runQuery, type TablePlan } from './catalog.ts';
import { checkRestored, describeFailedChecks, restoredChecksPass, type RestoredChecks } from './checks.ts';
import { BackupError, type BackupHeader, type BackupLine, type FileContent, type TableStart } from './format.ts';
import { readBackup, type BackupContents } from './read.ts';

const BATCH_ROWS = 500;
const BATCH_CHARS = 4 << 20;

export interface ErasureEntry {
  readonly ownerId: string;
  readonly shreddedAt: string;
}

export interface RestoreOptions {
  /** Erasures newer than the backup: re-applied before the transaction commits. */
  readonly erasures: readonly ErasureEntry[];
  /** The target's FILES_DIR (which must be empty), or null to put file contents in their rows. */
  readonly filesDir: string | null;
  /** Commit only when every check passes (restore); false keeps the report of a failed check (verify, into a scratch database). */
  readonly requireChecks: boolean;
}

export interface RestoreResult extends BackupContents {
  /** Accounts of the backup erased again because the ledger says they were erased since. */
  readonly erasuresApplied: number;
  /** Migrations applied after the load, up to this build's schema. */
  readonly migrated: readonly number[];
  readonly checks: RestoredChecks;
}

/** A restore refused by its checks; the report says which. */
export class BackupCheckError extends BackupError {
  readonly result: RestoreResult;
  constructor(result: RestoreResult) {
    super(`the restored data failed its checks, nothing was kept: ${describeFailedChecks(result.checks)}`);
    this.result = result;
  }
}

/** Nothing in the current schema: a new database, never one that holds data. */
async function assertEmpty(session: ScriptSession, db: DB): Promise<void> {
  const [row] = await runQuery<{ count: number }>(session, db, sql`SELECT count(*)::int AS count FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')`);
  if ((row?.count ?? 0) > 0) throw new BackupError('the target database is not empty: restore only into a new, empty database');
}

/** A folder inside an empty FILES_DIR where contents wait for the commit. */
async function stageFiles(filesDir: string): Promise<string> {
  await mkdir(filesDir, { recursive: true, mode: 0o700 });
  if ((await readdir(filesDir)).length > 0) throw new BackupError(`FILES_DIR (${filesDir}) is not empty: restore only into an empty one`);
  const staging = join(filesDir, `.restore-${randomUUID()}`);
  await mkdir(staging, { mode: 0o700 });
  return staging;
}

async function publishFiles(staging: string, filesDir: string): Promise<void> {
  for (const owner of await readdir(staging)) await rename(join(staging, owner), join(filesDir, owner));
  await rm(staging, { recursive: true, force: true });
}

class Loader {
  private table: TableStart | null = null;
  private rows: string[] = [];
  private chars = 0;
  private plan: Map<string, TablePlan> = new Map();
  header: BackupHeader | null = null;
  later: MigrationFile[] = [];
  private readonly session: ScriptSession;
  private readonly db: DB;
  private readonly staging: string | null;
  private readonly erased: ReadonlySet<string>;
  constructor(session: ScriptSession, db: DB, staging: string | null, erased: ReadonlySet<string>) {
    this.session = session;
    this.db = db;
    this.staging = staging;
    this.erased = erased;
  }

  async accept(line: BackupLine): Promise<void> {
    switch (line.kind) {
      case 'H':
        await this.createSchema(line.value);
        return;
      case 'T':
        await this.flush();
        this.table = this.checkTable(line.value);
        return;
      case 'R':
        this.rows.push(line.raw);
        this.chars += line.raw.length;
        if (this.rows.length >= BATCH_ROWS || this.chars >= BATCH_CHARS) await this.flush();
        return;
      case 'F':
        await this.flush();
        await this.restoreFile(line.value);
        return;
      case 'E':
        await this.flush();
        return;
    }
  }

  /** The backup's schema, from this build's migration files up to its version. */
  private async createSchema(header: BackupHeader): Promise<void> {
    const files = await readMigrationFiles();
    const latest = files.at(-1)?.version ?? 0;
    if (header.schema_version > latest) throw new BackupError(`the backup's schema (migration ${header.schema_version}) is newer than this build knows (${latest}): restore with the Gatehouse version that took it, or newer`);
    await applyMigrationFiles(this.session, files.filter((file) => file.version <= header.schema_version));
    const plan = await readTablePlan(this.session, this.db);
    // Rows the migrations seeded (the built-in roles) make way for the backup's own.
    for (const table of [...plan].reverse()) await runQuery(this.session, this.db, sql`DELETE FROM ${sql.table(table.name)}`);
    this.plan = new Map(plan.map((table) => [table.name, table]));
    this.header = header;
    this.later = files.filter((file) => file.version > header.schema_version);
  }

  private checkTable(table: TableStart): TableStart {
    const known = this.plan.get(table.name);
    if (known === undefined || !table.columns.every((column) => known.columns.includes(column))) {
      throw new BackupError(`the backup's table ${table.name} does not match its schema version`);
    }
    return table;
  }

  private async flush(): Promise<void> {
    if (this.table === null || this.rows.length === 0) return;
    const table = sql.table(this.table.name);
    const columns = sql.join(this.table.columns.map((column) => sql.id(column)));
    // PostgreSQL turns its own row_to_json text back into typed rows; JavaScript never parses them.
    await runQuery(this.session, this.db, sql`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${table}, ${`[${this.rows.join(',')}]`}::json)`);
    this.rows = [];
    this.chars = 0;
  }

  private async restoreFile(file: FileContent): Promise<void> {
    // Erased since the backup: its row goes with the account, its content is never written.
    if (this.erased.has(file.owner)) return;
    const content = Buffer.from(file.data, 'base64');
    if (this.staging !== null) {
      await directoryStore(this.staging).save(file.owner, file.id, content);
      return;
    }
    await this.db.updateTable('user_files').set({ content }).where('id', '=', file.id).where('user_id', '=', file.owner).execute();
  }
}

async function applyErasures(db: DB, erasures: readonly ErasureEntry[]): Promise<number> {
  let applied = 0;
  for (const { ownerId, shreddedAt } of erasures) {
    const present = await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', ownerId).union(db.selectFrom('users').select('id as owner_id').where('id', '=', ownerId)).execute();
    if (present.length > 0) applied += 1;
    for (const query of erasureQueries(db, ownerId)) await db.executeQuery(query.compile());
    // The restored ledger knows it too, for a restore of this database's own backups.
    await db.insertInto('shredded_keys').values({ owner_id: ownerId, shredded_at: shreddedAt }).onConflict((conflict) => conflict.column('owner_id').doNothing()).execute();
  }
  return applied;
}

/** Restores the backup at `path` into `database`, which must be empty. */
export async function restoreBackup(database: Database, path: string, decrypter: Decrypter, keyring: Keyring, options: RestoreOptions): Promise<RestoreResult> {
  const staging = options.filesDir === null ? null : await stageFiles(options.filesDir);
  try {
    const result = await database.scriptTransaction(async (session) => {
      const db = sessionKysely(session);
      await assertEmpty(session, db);
      const loader = new Loader(session, db, staging, new Set(options.erasures.map((entry) => entry.ownerId)));
      const contents = await readBackup(path, decrypter, (line) => loader.accept(line));
      // Before anything else: a backup this installation did not make is never restored.
      assertAuthentic(contents.trailer, contents.systemKeys, keyring);
      // The current schema before the erasures, whose queries are written for it.
      await applyMigrationFiles(session, loader.later);
      const erasuresApplied = await applyErasures(db, options.erasures);
      const checks = await checkRestored(db, keyring, contents.trailer.audit_head);
      const restored: RestoreResult = { ...contents, erasuresApplied, migrated: loader.later.map((file) => file.version), checks };
      if (options.requireChecks && !restoredChecksPass(checks)) throw new BackupCheckError(restored);
      return restored;
    });
    if (staging !== null && options.filesDir !== null) await publishFiles(staging, options.filesDir);
    return result;
  } catch (error) {
    if (staging !== null) await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
