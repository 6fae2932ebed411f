// Keeps the disk flush of an audited change out of the chain lock (used by core/change.ts).
// Appends are serialized until commit, so with a synchronous commit every append waits for the previous one's WAL
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
import { sql, type Kysely } from 'kysely';
import type { Schema } from '../db/schema.ts';

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
