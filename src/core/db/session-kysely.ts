// Kysely over the raw session of a transaction the caller holds (Database.scriptTransaction),
// so typed queries (and the code written with them: audit verification, key lookups,
// erasures) run inside a transaction that also runs migration scripts. A backup restore
// uses it to load, migrate, erase and check in one transaction that a failure rolls back.
// Everything runs on that one session; a nested transaction is refused, since the caller
// already holds one.
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { DB, ScriptSession } from './database.ts';
import type { Schema } from './schema.ts';

class SessionConnection implements DatabaseConnection {
  readonly #session: ScriptSession;
  constructor(session: ScriptSession) {
    this.#session = session;
  }
  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { rows, affectedRows } = await this.#session.execute(compiled.sql, compiled.parameters);
    // Kysely's own drivers hand rows over unchecked too; the query's types describe them.
    const typed = rows as R[];
    return affectedRows === undefined ? { rows: typed } : { rows: typed, numAffectedRows: BigInt(affectedRows) };
  }
  // eslint-disable-next-line require-yield -- no streaming on a script session
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on a script session');
  }
}

function refuseTransaction(): Promise<void> {
  return Promise.reject(new Error('a script session is already one transaction'));
}

class SessionDriver implements Driver {
  readonly #connection: SessionConnection;
  constructor(session: ScriptSession) {
    this.#connection = new SessionConnection(session);
  }
  init(): Promise<void> {
    return Promise.resolve();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(this.#connection);
  }
  beginTransaction = refuseTransaction;
  commitTransaction = refuseTransaction;
  rollbackTransaction = refuseTransaction;
  releaseConnection(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

/** Typed queries on `session`; valid only while the session's transaction is open. */
export function sessionKysely(session: ScriptSession): DB {
  return new Kysely<Schema>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new SessionDriver(session),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}
