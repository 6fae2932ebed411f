// Removes records older than a cut-off, the only way records ever leave the trail. In
// one transaction, under the chain lock (so no append or other prune interleaves): it
// appends an `audit.pruned` record, writes a signed checkpoint for the last record it
// removes, and deletes up to it through the one door the append-only trigger leaves
// open (migration 0005). The checkpoint and the deletion commit together or not at all.
//
// It refuses while the chain does not verify: a checkpoint over tampered records would
// launder them, and the broken records are the evidence. The newest record is never
// removed (the `audit.pruned` record is appended first and always stays), since
// `audit_append` continues the chain from the newest row in the table.
//
// Across key rotations (keys.ts) the checkpoint is signed under the key in force (the one
// the `audit.pruned` record is sealed under) and names the key in force after the last
// removed record. Key versions only go up along the chain, so every version older than
// the first kept record's key is needed by no record kept: those keys are deleted in the
// same transaction, and the `audit.pruned` record lists them (`keys_dropped`). An export
// of the removed records then verifies only where those keys still exist (a backup taken
// before the prune holds them): docs/operations.md "Rotating the audit key".
import { sql, type Kysely, type Transaction } from 'kysely';
import { uuidv7 } from '../crypto/ids.ts';
import type { Schema } from '../db/schema.ts';
import { CLI_ACTOR } from './cli-actor.ts';
import { AUDIT_CHAIN_LOCK_ID, appendAuditEvent } from './append.ts';
import { latestCheckpoint, signCheckpoint, type AuditCheckpoint } from './checkpoint.ts';
import { AUDIT_KEY_PURPOSE, auditKeyVersion, nextKeyId } from './keys.ts';
import type { AuditDeps, AuditKeyLookup } from './types.ts';
import { verifyAuditChain, verifyRecords, type ChainVerification } from './verify.ts';

export type PruneResult =
  | { readonly kind: 'pruned'; readonly checkpoint: AuditCheckpoint; readonly removed: number }
  | { readonly kind: 'nothing_to_prune' }
  | { readonly kind: 'chain_broken'; readonly verification: ChainVerification };

export class PruneInvariantError extends Error {
  override readonly name = 'PruneInvariantError';
}

/** The last seq to remove: everything before the first record at or after `before`, never the head. */
async function lastSeqBefore(trx: Transaction<Schema>, before: Date, headSeq: number): Promise<number> {
  // Keyed on the first record to keep, not the last to drop: with clocks that differ
  // between instances, a record is kept whenever any later one is at or after the cut-off.
  const firstKept = await trx
    .selectFrom('audit_events')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('occurred_at', '>=', before)
    .executeTakeFirst();
  const keepFrom = firstKept?.seq ?? headSeq;
  return Math.min(keepFrom - 1, headSeq - 1);
}

async function removeThrough(trx: Transaction<Schema>, checkpoint: AuditCheckpoint): Promise<number> {
  await sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`.execute(trx);
  const result = await trx.deleteFrom('audit_events').where('seq', '<=', checkpoint.through_seq).executeTakeFirst();
  await sql`SELECT set_config('gatehouse.audit_prune', 'off', true)`.execute(trx);
  return Number(result.numDeletedRows);
}

/**
 * Records appended between the walk outside the lock and taking it are verified now,
 * under the lock, before any checkpoint can cover them: a forged record slipped in
 * meanwhile must stay as evidence, not be pruned away.
 */
async function verifyThrough(trx: Transaction<Schema>, keys: AuditKeyLookup, verified: ChainVerification, through: number): Promise<ChainVerification | null> {
  if (through <= verified.head.seq) return null;
  const rows = await trx.selectFrom('audit_events').selectAll().where('seq', '>', verified.head.seq).where('seq', '<=', through).orderBy('seq').execute();
  const result = verifyRecords(rows, keys, verified.head);
  const complete = result.ok && result.head.seq === through;
  if (complete) return null;
  return {
    ok: false,
    checked: verified.checked + result.checked,
    firstBrokenSeq: result.ok ? result.head.seq + 1 : result.firstBrokenSeq,
    reason: result.ok ? 'seq_gap' : result.reason,
    head: result.head,
  };
}

/** Stored audit key versions older than `keyId`'s: no record from the one sealed under `keyId` on needs them. */
async function keysOlderThan(trx: Transaction<Schema>, keyId: string): Promise<string[]> {
  const kept = auditKeyVersion(keyId);
  if (kept === null) return [];
  const rows = await trx.selectFrom('system_keys').select(['id']).where('purpose', '=', AUDIT_KEY_PURPOSE).execute();
  return rows.map((row) => row.id).filter((id) => (auditKeyVersion(id) ?? kept) < kept).sort();
}

/** The key the newest record (just appended) is sealed under: it signs the checkpoint. */
async function signingKey(trx: Transaction<Schema>, keys: AuditKeyLookup): Promise<{ readonly id: string; readonly key: Buffer }> {
  const newest = await trx.selectFrom('audit_events').select(['key_id']).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
  const key = keys(newest.key_id);
  if (key === null) throw new PruneInvariantError(`the audit key "${newest.key_id}" in force is not known`);
  return { id: newest.key_id, key };
}

async function pruneLocked(trx: Transaction<Schema>, deps: PruneDeps, before: Date, verified: ChainVerification): Promise<PruneResult> {
  await sql`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID}::bigint)`.execute(trx);
  // Again under the lock: a rotation may have put a new key in force since the walk.
  const keys = await loadKeys(trx, deps);
  const head = await trx.selectFrom('audit_events').select(['seq']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (head === undefined) return { kind: 'nothing_to_prune' };
  const through = await lastSeqBefore(trx, before, head.seq);
  const previous = (await latestCheckpoint(trx))?.through_seq ?? 0;
  if (through <= previous) return { kind: 'nothing_to_prune' };
  const broken = await verifyThrough(trx, keys, verified, through);
  if (broken !== null) return { kind: 'chain_broken', verification: broken };
  const last = await trx.selectFrom('audit_events').select(['hash', 'action', 'key_id', 'details']).where('seq', '=', through).executeTakeFirst();
  const firstKept = await trx.selectFrom('audit_events').select(['key_id']).where('seq', '=', through + 1).executeTakeFirst();
  if (last === undefined || firstKept === undefined) throw new PruneInvariantError(`record ${through} or ${through + 1} is missing`);
  const expected = through - previous;
  const dropped = await keysOlderThan(trx, firstKept.key_id);
  await appendAuditEvent(trx, deps, {
    actor: CLI_ACTOR,
    action: 'audit.pruned',
    outcome: 'success',
    details: { through_seq: through, records: expected, before: before.toISOString(), ...(dropped.length === 0 ? {} : { keys_dropped: dropped }) },
  });
  const checkpoint = signCheckpoint(await signingKey(trx, keys), {
    id: uuidv7(deps.clock().getTime()),
    through_seq: through,
    through_hash: last.hash,
    record_count: expected,
    created_at: deps.clock().toISOString(),
    next_key_id: nextKeyId(last),
  });
  await trx.insertInto('audit_checkpoints').values(checkpoint).execute();
  const removed = await removeThrough(trx, checkpoint);
  // The chain is gapless, so anything else means rows vanished or appeared: keep them all.
  if (removed !== expected) throw new PruneInvariantError(`expected to remove ${expected} records, removed ${removed}`);
  if (dropped.length > 0) await trx.deleteFrom('system_keys').where('purpose', '=', AUDIT_KEY_PURPOSE).where('id', 'in', dropped).execute();
  return { kind: 'pruned', checkpoint, removed };
}

export interface PruneDeps extends AuditDeps {
  /** Every audit key version, read afresh (in the transaction given); default: `key` alone. */
  readonly loadKeys?: (db: Kysely<Schema>) => Promise<AuditKeyLookup>;
}

async function loadKeys(db: Kysely<Schema>, deps: PruneDeps): Promise<AuditKeyLookup> {
  if (deps.loadKeys !== undefined) return deps.loadKeys(db);
  return (keyId) => (keyId === deps.key.id ? deps.key.key : null);
}

export async function pruneAuditTrail(db: Kysely<Schema>, deps: PruneDeps, options: { readonly before: Date }): Promise<PruneResult> {
  if (Number.isNaN(options.before.getTime())) throw new RangeError('the cut-off is not a valid date');
  // Verified outside the lock: a full walk under it would stall every append meanwhile.
  const verification = await verifyAuditChain(db, await loadKeys(db, deps));
  if (!verification.ok) return { kind: 'chain_broken', verification };
  return db.transaction().execute((trx) => pruneLocked(trx, deps, options.before, verification));
}
