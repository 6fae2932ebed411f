// The usual way to make an audited change: the change, then its record as the last
// statement, in one transaction.
//
// It also keeps the disk flush out of the chain lock. Appends are serialized until
// commit, so with a synchronous commit every append waits for the previous one's WAL
// flush and throughput is capped at one fsync per record. Here the transaction commits
// without waiting for the flush (`synchronous_commit = off`, this transaction only),
// which releases the lock at once; the flush is awaited after the lock, by a tiny
// transaction that writes WAL and commits synchronously: that flushes the WAL up to its
// own commit record, past ours, and many such flushes share one fsync. The caller hears
// of success only once its change and record are durable, as with a synchronous commit.
// A crash before the flush loses the change and its record together, and since the WAL
// is written in commit order, which is chain order, it can only lose the newest records,
// never one from the middle of the chain. (Others may read the change in the moment
// before it is durable, as after any asynchronous commit.)
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { appendAuditEventFlushingLater } from './append.ts';
import type { AuditDeps, AuditEventInput } from './types.ts';

/**
 * Returns once everything committed before the call is on disk. It needs a transaction
 * that both holds an id and writes WAL (one that only takes an id, such as
 * `SELECT pg_current_xact_id()`, commits without a flush); a transactional logical
 * message is the smallest such write and needs no table. Consumers of logical
 * decoding, if any, see an empty message with the prefix `gatehouse.flush`.
 */
export async function flushWAL(db: Kysely<Schema>): Promise<void> {
  await sql`SELECT pg_logical_emit_message(true, 'gatehouse.flush', '')`.execute(db);
}

export interface AuditedChange<T> {
  readonly value: T;
  readonly event: AuditEventInput;
}

/** Runs `fn` and appends the event it returns, in one transaction; resolves once both are durable. */
export async function withAudit<T>(db: Kysely<Schema>, deps: AuditDeps, fn: (trx: Transaction<Schema>) => Promise<AuditedChange<T>>): Promise<T> {
  const value = await db.transaction().execute(async (trx) => {
    const change = await fn(trx);
    await appendAuditEventFlushingLater(trx, deps, change.event);
    return change.value;
  });
  await flushWAL(db);
  return value;
}
