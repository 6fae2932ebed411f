// Loading a backup into an empty database, in one transaction: the schema the backup was
// taken at (its migration files), every row, the sealed file contents, then the erasures
// recorded after the backup was taken (erasures.ts). A failure anywhere, a damaged or cut
// backup included (its checksum is checked at the end), rolls everything back: the
// database is left as empty as it was, never half restored and never serving an account
// that was erased. The caller migrates to the current schema afterwards.
import { sql } from 'kysely';
import type { Decrypter } from 'age-encryption';
import type { Database, DB, ScriptSession } from '../../core/db/database.ts';
import { applyMigrationFiles, readMigrationFiles } from '../../core/db/migrate.ts';
import { directoryStore } from '../files/index.ts';
import { erasureQueries } from '../users/index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { assertAuthentic } from './authenticity.ts';
import { readTablePlan, runQuery, type TablePlan } from './catalog.ts';
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
  /** The target's FILES_DIR, or null to put file contents in their rows. */
  readonly filesDir: string | null;
}

export interface RestoreResult extends BackupContents {
  /** Accounts of the backup erased again because the ledger says they were erased since. */
  readonly erasuresApplied: number;
}

async function run(session: ScriptSession, db: DB, query: { compile(): { sql: string; parameters: readonly unknown[] } }): Promise<number> {
  const compiled = query.compile();
  const rows = await session.query<unknown>(compiled.sql, compiled.parameters);
  return rows.length;
}

/** Nothing in the current schema: a new database, never one that holds data. */
async function assertEmpty(session: ScriptSession, db: DB): Promise<void> {
  const [row] = await runQuery<{ count: number }>(session, db, sql`SELECT count(*)::int AS count FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')`);
  if ((row?.count ?? 0) > 0) throw new BackupError('the target database is not empty: restore only into a new, empty database');
}

/** The backup's schema, from this build's migration files up to its version. */
async function createSchema(session: ScriptSession, db: DB, header: BackupHeader): Promise<TablePlan[]> {
  const files = await readMigrationFiles();
  const latest = files.at(-1)?.version ?? 0;
  if (header.schema_version > latest) throw new BackupError(`the backup's schema (migration ${header.schema_version}) is newer than this build knows (${latest}): restore with the Gatehouse version that took it, or newer`);
  await applyMigrationFiles(session, files.filter((file) => file.version <= header.schema_version));
  const plan = await readTablePlan(session, db);
  // Rows the migrations seeded (the built-in roles) make way for the backup's own.
  for (const table of [...plan].reverse()) await runQuery(session, db, sql`DELETE FROM ${sql.table(table.name)}`);
  return plan;
}

class Loader {
  private table: TableStart | null = null;
  private rows: string[] = [];
  private chars = 0;
  private plan: Map<string, TablePlan> = new Map();
  private readonly session: ScriptSession;
  private readonly db: DB;
  private readonly options: RestoreOptions;
  constructor(session: ScriptSession, db: DB, options: RestoreOptions) {
    this.session = session;
    this.db = db;
    this.options = options;
  }

  async accept(line: BackupLine): Promise<void> {
    switch (line.kind) {
      case 'H':
        this.plan = new Map((await createSchema(this.session, this.db, line.value)).map((table) => [table.name, table]));
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
    const content = Buffer.from(file.data, 'base64');
    if (this.options.filesDir !== null) {
      await directoryStore(this.options.filesDir).save(file.owner, file.id, content);
      return;
    }
    await run(this.session, this.db, this.db.updateTable('user_files').set({ content }).where('id', '=', file.id).where('user_id', '=', file.owner));
  }
}

async function applyErasures(session: ScriptSession, db: DB, erasures: readonly ErasureEntry[]): Promise<number> {
  let applied = 0;
  for (const { ownerId, shreddedAt } of erasures) {
    const present = await runQuery<{ id: string }>(session, db, sql`SELECT owner_id AS id FROM data_keys WHERE owner_id = ${ownerId} UNION SELECT id FROM users WHERE id = ${ownerId}`);
    if (present.length > 0) applied += 1;
    for (const query of erasureQueries(db, ownerId)) await run(session, db, query);
    // The restored ledger knows it too, for a restore of this database's own backups.
    await run(session, db, db.insertInto('shredded_keys').values({ owner_id: ownerId, shredded_at: shreddedAt }).onConflict((conflict) => conflict.column('owner_id').doNothing()));
  }
  return applied;
}

/** Restores the backup at `path` into `database`, which must be empty. */
export async function restoreBackup(database: Database, path: string, decrypter: Decrypter, keyring: Keyring, options: RestoreOptions): Promise<RestoreResult> {
  const { db } = database;
  return database.scriptTransaction(async (session) => {
    await assertEmpty(session, db);
    const loader = new Loader(session, db, options);
    const contents = await readBackup(path, decrypter, (line) => loader.accept(line));
    // Before anything commits: a backup this installation did not make is never restored.
    assertAuthentic(contents.trailer, contents.systemKeys, keyring);
    const erasuresApplied = await applyErasures(session, db, options.erasures);
    return { ...contents, erasuresApplied };
  });
}
