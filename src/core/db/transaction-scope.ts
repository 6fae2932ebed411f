// A query that waits for the connection its own request already holds waits forever:
// PGlite has exactly one connection, and a PostgreSQL pool has `poolMax`, so a request
// holding a transaction that asks for a second connection (a permission lookup through
// `db` instead of `trx`, say) hangs the server once enough of them are in flight.
//
// This makes that impossible by construction rather than by review. Every transaction
// opened through `db.transaction()` runs in an AsyncLocalStorage scope that remembers
// the connection it holds. While the transaction is open, any other query or
// transaction started from the same async context (anything its callback calls or
// spawns) is routed through that same connection: a plain query runs inside the
// transaction (it sees its uncommitted writes and takes part in its locks), and a
// nested transaction becomes a savepoint. Queries from other requests are untouched
// and wait for a connection as usual. Savepoints share one name: PostgreSQL resolves a
// name to the most recent savepoint, and nested transactions end in reverse order.
/* eslint-disable no-restricted-properties -- only the fixed savepoint statements below */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CompiledQuery,
  Kysely,
  TransactionBuilder,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

interface Hold {
  /** The transaction's own connection while it is open; null before and after. */
  connection: DatabaseConnection | null;
  claimed: boolean;
  readonly parent: Hold | undefined;
}

const scope = new AsyncLocalStorage<Hold>();

/** The innermost open transaction of this context, if any. */
function openHold(hold: Hold | undefined): Hold | null {
  for (let current = hold; current !== undefined; current = current.parent) {
    if (current.connection !== null) return current;
  }
  return null;
}

/**
 * Runs `work` as if from outside any transaction: its queries wait for a connection of
 * their own. For work that must not join the caller's transaction, such as a test that
 * plays a second instance racing the one holding it.
 */
export function outsideTransaction<T>(work: () => T): T {
  return scope.exit(work);
}

/** True while the calling async context is inside an open transaction. */
export function insideTransaction(): boolean {
  return openHold(scope.getStore()) !== null;
}

/** The held connection, lent to a query or nested transaction of the same context. */
class LentConnection implements DatabaseConnection {
  readonly #lender: Hold;
  readonly #owner: DatabaseConnection;
  nested = false;

  constructor(lender: Hold, owner: DatabaseConnection) {
    this.#lender = lender;
    this.#owner = owner;
  }

  // Work the transaction did not wait for must not use its connection once it has ended:
  // on PGlite that would run beside whoever holds the backend next.
  #checked(): DatabaseConnection {
    if (this.#lender.connection !== this.#owner) throw new Error('query on a transaction that has already ended');
    return this.#owner;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.#checked().executeQuery<R>(compiled);
  }

  streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#checked().streamQuery<R>(compiled, chunkSize);
  }
}

function lend(lender: Hold): LentConnection {
  if (lender.connection === null) throw new Error('no open transaction to lend');
  return new LentConnection(lender, lender.connection);
}

class ScopedDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const hold = scope.getStore();
    if (hold !== undefined && !hold.claimed) {
      // The transaction this scope was opened for: its own connection, or a savepoint
      // on the one an enclosing transaction holds.
      hold.claimed = true;
      const outer = openHold(hold.parent);
      hold.connection = outer === null ? await this.#inner.acquireConnection() : lend(outer);
      return hold.connection;
    }
    const lender = openHold(hold);
    return lender === null ? this.#inner.acquireConnection() : lend(lender);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (!(connection instanceof LentConnection)) return this.#inner.beginTransaction(connection, settings);
    connection.nested = true;
    await connection.executeQuery(CompiledQuery.raw('savepoint gatehouse_nested'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (!(connection instanceof LentConnection)) return this.#inner.commitTransaction(connection);
    if (connection.nested) await connection.executeQuery(CompiledQuery.raw('release savepoint gatehouse_nested'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!(connection instanceof LentConnection)) return this.#inner.rollbackTransaction(connection);
    if (!connection.nested) return;
    await connection.executeQuery(CompiledQuery.raw('rollback to savepoint gatehouse_nested'));
    await connection.executeQuery(CompiledQuery.raw('release savepoint gatehouse_nested'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const hold = scope.getStore();
    if (hold?.connection === connection) hold.connection = null;
    if (connection instanceof LentConnection) return;
    await this.#inner.releaseConnection(connection);
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

/** Wraps a dialect so that its driver lends a held connection to its own context. */
export class ScopedDialect implements Dialect {
  readonly #inner: Dialect;

  constructor(inner: Dialect) {
    this.#inner = inner;
  }

  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }

  createDriver(): Driver {
    return new ScopedDriver(this.#inner.createDriver());
  }

  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}

function scoped<DB>(builder: TransactionBuilder<DB>): TransactionBuilder<DB> {
  return new Proxy(builder, {
    get(target, property) {
      if (property === 'execute') {
        return <T>(callback: Parameters<TransactionBuilder<DB>['execute']>[0]): Promise<T> =>
          scope.run({ connection: null, claimed: false, parent: scope.getStore() }, () => target.execute(callback) as Promise<T>);
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = Reflect.apply(value, target, args);
        return result instanceof TransactionBuilder ? scoped(result as TransactionBuilder<DB>) : result;
      };
    },
  });
}

/** Kysely whose transactions open a scope (see the top of this file). Use with ScopedDialect. */
export class ScopedKysely<DB> extends Kysely<DB> {
  override transaction(): TransactionBuilder<DB> {
    return scoped(super.transaction());
  }
}
