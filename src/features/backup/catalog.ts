// What a backup copies, read from PostgreSQL's catalog rather than listed by hand, so a
// table a later migration adds is backed up without anyone remembering to: every table of
// the current schema but `schema_migrations` (restore re-creates the schema from the
// migration files), in an order that loads parents before children, each with its
// stored (not generated) columns and its primary key for a stable row order.
//
// Queries are built with Kysely's `sql` (identifiers through sql.table/sql.ref, values as
// parameters) and run on the raw session of one transaction (Database.scriptTransaction).
import { sql, type RawBuilder } from 'kysely';
import type { DB, ScriptSession } from '../../core/db/database.ts';
import { BackupError } from './format.ts';

export interface TablePlan {
  readonly name: string;
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
}

/** Runs a Kysely-built query on a script session. */
export async function runQuery<R>(session: ScriptSession, db: DB, query: RawBuilder<unknown>): Promise<R[]> {
  const compiled = query.compile(db);
  return session.query<R>(compiled.sql, compiled.parameters);
}

const TABLES = sql`
  SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations'`;

const FOREIGN_KEYS = sql`
  SELECT child.relname AS child, parent.relname AS parent
  FROM pg_constraint k
  JOIN pg_class child ON child.oid = k.conrelid
  JOIN pg_class parent ON parent.oid = k.confrelid
  JOIN pg_namespace n ON n.oid = child.relnamespace
  WHERE k.contype = 'f' AND n.nspname = current_schema()`;

const COLUMNS = sql`
  SELECT c.relname AS table_name, a.attname AS column_name
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  ORDER BY c.relname, a.attnum`;

const PRIMARY_KEYS = sql`
  SELECT c.relname AS table_name, a.attname AS column_name
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
  WHERE i.indisprimary AND n.nspname = current_schema()
  ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)`;

const SEQUENCES = sql`
  SELECT count(*)::int AS count FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind = 'S'`;

/** Parents before children; among equals by name, so two backups of one schema agree. */
function loadOrder(names: readonly string[], edges: readonly { child: string; parent: string }[]): string[] {
  const parents = new Map(names.map((name) => [name, new Set<string>()]));
  for (const { child, parent } of edges) if (child !== parent) parents.get(child)?.add(parent);
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < names.length) {
    const ready = names.filter((name) => !placed.has(name) && [...(parents.get(name) ?? [])].every((parent) => placed.has(parent)));
    if (ready.length === 0) throw new BackupError('the schema has a cycle of foreign keys; this backup format cannot order it');
    const next = [...ready].sort()[0] ?? '';
    order.push(next);
    placed.add(next);
  }
  return order;
}

function groupBy(rows: readonly { table_name: string; column_name: string }[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const row of rows) grouped.set(row.table_name, [...(grouped.get(row.table_name) ?? []), row.column_name]);
  return grouped;
}

/** The tables to copy, in load order. */
export async function readTablePlan(session: ScriptSession, db: DB): Promise<TablePlan[]> {
  const [{ count } = { count: 0 }] = await runQuery<{ count: number }>(session, db, SEQUENCES);
  // Nothing here carries a sequence's position; a schema that grows one must teach the
  // format to, or a restore would hand out values already used.
  if (count > 0) throw new BackupError('the schema has sequences; this backup format does not carry them');
  const names = (await runQuery<{ name: string }>(session, db, TABLES)).map((row) => row.name);
  const edges = await runQuery<{ child: string; parent: string }>(session, db, FOREIGN_KEYS);
  const columns = groupBy(await runQuery(session, db, COLUMNS));
  const keys = groupBy(await runQuery(session, db, PRIMARY_KEYS));
  return loadOrder(names, edges).map((name) => ({ name, columns: columns.get(name) ?? [], primaryKey: keys.get(name) ?? [] }));
}

/** The newest migration recorded in this database (0 when none). */
export async function readSchemaVersion(session: ScriptSession, db: DB): Promise<number> {
  const [row] = await runQuery<{ version: number | null }>(session, db, sql`SELECT max(version) AS version FROM schema_migrations`);
  return row?.version ?? 0;
}
