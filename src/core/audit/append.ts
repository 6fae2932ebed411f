// Appends one record to the chain inside the caller's transaction, so a change and the
// record of it commit or roll back together. Records are numbered without gaps and each
// one seals its predecessor's hash, which requires appends to be strictly serialized: a
// transaction-scoped advisory lock does that, held from the head read to the commit.
// Everything else is prepared before the lock; call this as the last statement before
// commit (or use `withAudit`), since whatever runs after it runs inside the serialized
// section.
//
// The caller's transaction must be READ COMMITTED (PostgreSQL's default): the head is
// read by a statement started after the lock is granted, so it sees the previous
// holder's commit. Under REPEATABLE READ the head would be stale and the insert would
// fail on the `seq` primary key; the chain can never fork either way.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { AuditInputError } from './errors.ts';
import { insertAfter, insertIfHead, readChainHead } from './insert.ts';
import { prepareAuditEvent } from './prepare.ts';
import type { AppendedAuditEvent, AuditDeps, AuditEventInput, ChainHeadCache } from './types.ts';

// Any fixed 64-bit number shared by every instance, distinct from the migration lock.
export const AUDIT_CHAIN_LOCK_ID = 4_812_903_337_561;

export function createChainHeadCache(): ChainHeadCache {
  return { current: null };
}

async function append(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput, options: { readonly deferFlush: boolean }): Promise<AppendedAuditEvent> {
  // The type already demands a transaction; this also stops a cast or a JavaScript caller.
  const session: Kysely<Schema> = trx;
  if (!session.isTransaction) throw new AuditInputError('not_in_transaction', 'an audit record must be appended inside the transaction of the change it records');
  const prepared = prepareAuditEvent(deps, event);
  await (options.deferFlush
    ? sql`SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID}::bigint)`.execute(trx)
    : sql`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID}::bigint)`.execute(trx));
  // Serialized from here to the caller's commit.
  const guess = deps.headCache?.current ?? null;
  const appended =
    (guess === null ? null : await insertIfHead(trx, deps.key.key, prepared, guess)) ??
    (await insertAfter(trx, deps.key.key, prepared, await readChainHead(trx)));
  if (deps.headCache !== undefined) deps.headCache.current = { seq: appended.seq, hash: appended.hash };
  return appended;
}

export async function appendAuditEvent(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput): Promise<AppendedAuditEvent> {
  return append(trx, deps, event, { deferFlush: false });
}

/**
 * For `withAudit` only: appends, and lets the transaction commit without waiting for
 * the WAL flush (`SET LOCAL synchronous_commit = off`, in the same statement as the
 * lock). The caller must flush after the commit and before reporting success.
 */
export async function appendAuditEventFlushingLater(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput): Promise<AppendedAuditEvent> {
  return append(trx, deps, event, { deferFlush: true });
}
