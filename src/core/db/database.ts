// One SQL dialect, two engines: embedded PGlite by default, PostgreSQL when a URL is
// configured. Everything above this file sees only Kysely and `Database`.
import { mkdir } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import { PostgresDialect, type Kysely } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { lazyModule } from '../lazy-module.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { prepareStatementsOn } from './prepared-statements.ts';
import { ScopedDialect, ScopedKysely } from './transaction-scope.ts';

export type Engine = 'pglite' | 'postgres';
export type DB = Kysely<Schema>;

/** A raw session inside one transaction, for the migration runner's trusted scripts only. */
export interface ScriptSession {
  exec(script: string): Promise<void>;
  query<R>(text: string, params: readonly unknown[]): Promise<R[]>;
  /** As `query`, with the number of rows an INSERT, UPDATE or DELETE changed. */
  execute(text: string, params: readonly unknown[]): Promise<{ rows: unknown[]; affectedRows: number | undefined }>;
}

export interface Database {
  readonly engine: Engine;
  readonly db: DB;
  /** Runs `fn` in one transaction on a raw session; used for migration files, never user input. */
  scriptTransaction<T>(fn: (session: ScriptSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PGlite on disk (`dataDir`) or in memory (`dataDir: null`). */
export interface PGliteOptions {
  readonly engine: 'pglite';
  readonly dataDir: string | null;
  /**
   * In memory only: start from this `dumpDataDir()` tarball instead of running initdb. The
   * tests clone one migrated database this way (test/helpers/database.ts): about 1 s
   * instead of 7–11 s for initdb and the migrations.
   */
  readonly loadDataDir?: Blob;
}

/** A PGlite database that can also be dumped, as a tarball for `loadDataDir`. */
export interface PGliteDatabase extends Database {
  dumpDataDir(): Promise<Blob>;
}

export type DatabaseOptions =
  | PGliteOptions
  | PostgresOptions;

export interface PostgresOptions {
  readonly engine: 'postgres';
  readonly url: string;
  readonly poolMax: number;
  /** Named prepared statements (prepared-statements.ts); default true. */
  readonly preparedStatements?: boolean;
}

// int8 arrives as a string from pg and as a number from PGlite; both engines
// return numbers so the rest of the code is engine-agnostic (values stay < 2^53).
function postgresTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, 'text', Number);
  return types;
}

// PGlite's JavaScript (and, once started, its WebAssembly) is loaded only by a process
// that opens the embedded database: a server on PostgreSQL never needs it.
const pgliteModules = lazyModule(async () => {
  const [{ PGlite }, { createPGliteDirectory, PGLITE_START_PARAMS }] = await Promise.all([import('@electric-sql/pglite'), import('./pglite-create.ts')]);
  return { PGlite, createPGliteDirectory, PGLITE_START_PARAMS };
});

export async function openPGlite(options: PGliteOptions): Promise<PGliteDatabase> {
  const { dataDir } = options;
  const { PGlite, createPGliteDirectory, PGLITE_START_PARAMS } = await pgliteModules();
  if (dataDir !== null && options.loadDataDir !== undefined) throw new Error('loadDataDir is for an in-memory PGlite only');
  if (dataDir !== null) await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Before PGlite reads (or creates) the directory: a second process must not even start on it.
  const lock = dataDir === null ? null : await lockDataDir(dataDir);
  let client: PGlite;
  try {
    if (dataDir !== null) await createPGliteDirectory(dataDir);
    const startParams = [...PGLITE_START_PARAMS];
    client =
      dataDir !== null
        ? await PGlite.create(dataDir, { startParams })
        : await PGlite.create(options.loadDataDir === undefined ? { startParams } : { startParams, loadDataDir: options.loadDataDir });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const db = new ScopedKysely<Schema>({ dialect: new ScopedDialect(new PGliteDialect(client)) });
  return {
    engine: 'pglite',
    db,
    async scriptTransaction(fn) {
      // Through Kysely's connection so the script waits its turn on the single backend.
      return db.connection().execute(async () =>
        client.transaction(async (tx) =>
          fn({
            async exec(script) {
              await tx.exec(script);
            },
            async query<R>(text: string, params: readonly unknown[]) {
              return (await tx.query<R>(text, [...params])).rows;
            },
            async execute(text: string, params: readonly unknown[]) {
              const result = await tx.query(text, [...params]);
              return { rows: result.rows, affectedRows: result.affectedRows };
            },
          }),
        ),
      );
    },
    async dumpDataDir() {
      // Through Kysely's connection, like scriptTransaction: never in the middle of a transaction.
      // A checkpoint first, so a clone replays (almost) no WAL when it starts.
      return db.connection().execute(async () => {
        await client.exec('CHECKPOINT');
        return client.dumpDataDir('none');
      });
    },
    async close() {
      await db.destroy();
      await client.close();
      await lock?.release();
    },
  };
}

// Nothing to do here: whoever was using the connection sees its own error, and a new
// connection is opened for the next query.
function ignoreConnectionError(): void {}

function openPostgres({ url, poolMax, preparedStatements = true }: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    types: postgresTypes(),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // A connection lost to a restart, a failover or pg_terminate_backend emits 'error' on its
  // client; an EventEmitter without a listener for it ends the process. The pool listens
  // only while a client is idle (and re-emits here), so every client gets its own listener
  // for the time it is checked out: the query in flight fails on its own (the caller
  // answers 503, see unavailable.ts) and the pool discards the broken client on release.
  pool.on('error', ignoreConnectionError);
  pool.on('connect', (client) => {
    client.on('error', ignoreConnectionError);
    if (preparedStatements) prepareStatementsOn(client);
  });
  const db = new ScopedKysely<Schema>({ dialect: new ScopedDialect(new PostgresDialect({ pool })) });
  return {
    engine: 'postgres',
    db,
    async scriptTransaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn({
          async exec(script) {
            // No parameters: pg uses the simple protocol, which accepts several statements.
            await client.query(script);
          },
          async query<R>(text: string, params: readonly unknown[]) {
            return (await client.query(text, [...params])).rows as R[];
          },
          async execute(text: string, params: readonly unknown[]) {
            const result = await client.query(text, [...params]);
            return { rows: result.rows as unknown[], affectedRows: result.rowCount ?? undefined };
          },
        });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        // A client whose connection broke is destroyed by the pool, never reused.
        client.release();
      }
    },
    async close() {
      await db.destroy();
      // Kysely ends the pool only if a query went through it; scriptTransaction (the
      // migrations) takes clients from the pool directly, and their idle connections
      // stayed open, keeping the database in use (CREATE DATABASE … TEMPLATE refused it).
      if (!pool.ending) await pool.end();
    },
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.engine === 'pglite'
    ? openPGlite(options)
    : openPostgres(options);
}
