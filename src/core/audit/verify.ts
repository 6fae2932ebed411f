// Walks the chain in seq order and reports the first record that breaks it. The same
// pure `verifyRecords` checks rows read from the database and lines of an export, so an
// auditor can verify a copy offline with the code the server uses.
//
// What it proves: no record inside the range was altered, inserted, removed or moved by
// anyone without the key. What it cannot see alone: records cut from the end; compare
// the returned head with one kept elsewhere (a log line, an export) to catch that.
//
// After a prune the chain starts at the newest checkpoint (checkpoint.ts): its signature
// must hold and the first remaining record must follow it. Removing or forging the
// checkpoint, or removing records past it, breaks the walk at the first missing seq.
//
// Across key rotations (keys.ts) each record must be sealed under the key in force where
// it stands: the previous record's, or the one a hand-over names. A record after a
// hand-over sealed under the old key (whoever still holds it), a hand-over that does not
// verify under the old key, or a missing hand-over (the records after it would be under a
// key nothing handed over to) each break the walk at that record.
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { anchoringCheckpoint, checkpointIsAuthentic, latestCheckpoint, positionAfter } from './checkpoint.ts';
import { HANDOVER_ACTION, handoverNames, nextKeyId, readHandover } from './keys.ts';
import { personalDataIntact } from './personal.ts';
import { auditHashMatches } from './seal.ts';
import { GENESIS, type AuditKeyLookup, type AuditRecord, type ChainHead } from './types.ts';

export type AuditChainProblem =
  | 'hash_mismatch'
  | 'personal_data_mismatch'
  | 'prev_mismatch'
  | 'seq_gap'
  | 'unknown_key'
  | 'checkpoint_invalid'
  | 'key_mismatch'
  | 'handover_invalid';

export type RecordsVerification =
  | { readonly ok: true; readonly checked: number; readonly head: ChainHead }
  | {
      readonly ok: false;
      readonly checked: number;
      /** For `seq_gap`, the missing seq; otherwise the seq of the offending record. */
      readonly firstBrokenSeq: number;
      readonly reason: AuditChainProblem;
      readonly head: ChainHead;
    };

/** A hand-over, already authentic under the old key: well formed, from that key, and naming a key the verifier holds. */
function checkHandover(record: AuditRecord, keys: AuditKeyLookup): AuditChainProblem | null {
  const handover = readHandover(record.details);
  if (handover === null || handover.fromKeyId !== record.key_id) return 'handover_invalid';
  const newKey = keys(handover.newKeyId);
  if (newKey === null || newKey.length === 0) return 'unknown_key';
  return handoverNames(handover, newKey) ? null : 'handover_invalid';
}

function checkRecord(record: AuditRecord, keys: AuditKeyLookup, position: ChainHead): AuditChainProblem | null {
  if (record.seq !== position.seq + 1) return 'seq_gap';
  if (record.prev_hash !== position.hash) return 'prev_mismatch';
  const inForce = position.keyId ?? null;
  if (inForce !== null && record.key_id !== inForce) return 'key_mismatch';
  const key = keys(record.key_id);
  if (key === null || key.length === 0) return 'unknown_key';
  if (!sealMatches(key, record)) return 'hash_mismatch';
  // The hash covers the personal digest; the ip and user agent must match it, or be a redaction of them.
  if (!personalDataIntact(key, record)) return 'personal_data_mismatch';
  return record.action === HANDOVER_ACTION ? checkHandover(record, keys) : null;
}

function sealMatches(key: Buffer, record: AuditRecord): boolean {
  try {
    return auditHashMatches(key, record, record.hash);
  } catch {
    // A malformed export line (a time that is not a string, a value JSON cannot carry) is a broken record, not a crash.
    return false;
  }
}

/** Verifies consecutive records that follow `start`; pure, so it serves exports too. */
export function verifyRecords(records: Iterable<AuditRecord>, keys: AuditKeyLookup, start: ChainHead): RecordsVerification {
  let head = start;
  let checked = 0;
  for (const record of records) {
    const reason = checkRecord(record, keys, head);
    if (reason !== null) {
      const firstBrokenSeq = reason === 'seq_gap' ? head.seq + 1 : record.seq;
      return { ok: false, checked, firstBrokenSeq, reason, head };
    }
    head = { seq: record.seq, hash: record.hash, keyId: nextKeyId(record) };
    checked += 1;
  }
  return { ok: true, checked, head };
}

export interface VerifyChainOptions {
  /** First seq to check; the record before it is trusted as the anchor. Default: after the newest checkpoint, or 1. */
  readonly fromSeq?: number;
  /** Records read per query, which bounds memory. Default 1000. */
  readonly batchSize?: number;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly firstBrokenSeq: number | null;
  readonly reason?: AuditChainProblem;
  /** The last record verified (and the key in force after it): keep it outside the database to detect a cut tail later. */
  readonly head: ChainHead;
}

function memoize(keys: AuditKeyLookup): AuditKeyLookup {
  const cache = new Map<string, Buffer | null>();
  return (keyId) => {
    if (!cache.has(keyId)) cache.set(keyId, keys(keyId));
    return cache.get(keyId) ?? null;
  };
}

function positiveInteger(value: number, field: string, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`${field} must be an integer from 1 to ${max}`);
  return value;
}

type Start = { readonly anchor: ChainHead } | { readonly broken: ChainVerification };

function brokenAt(seq: number, reason: AuditChainProblem, anchor: ChainHead): Start {
  return { broken: { ok: false, checked: 0, firstBrokenSeq: seq, reason, head: anchor } };
}

async function startAfterCheckpoint(db: Kysely<Schema>, keys: AuditKeyLookup): Promise<Start> {
  const checkpoint = await anchoringCheckpoint(db);
  if (checkpoint === null) return { anchor: GENESIS };
  if (checkpoint === undefined) {
    const latest = await latestCheckpoint(db);
    return brokenAt(latest?.through_seq ?? 0, 'checkpoint_invalid', GENESIS);
  }
  // A forged or altered checkpoint could hide anything before it: nothing after it counts.
  if (!checkpointIsAuthentic(checkpoint, keys)) return brokenAt(checkpoint.through_seq, 'checkpoint_invalid', GENESIS);
  return { anchor: positionAfter(checkpoint) };
}

async function startBefore(db: Kysely<Schema>, fromSeq: number): Promise<Start> {
  if (fromSeq === 1) return { anchor: GENESIS };
  const row = await db.selectFrom('audit_events').select(['seq', 'hash', 'action', 'key_id', 'details']).where('seq', '=', fromSeq - 1).executeTakeFirst();
  return row === undefined ? brokenAt(fromSeq - 1, 'seq_gap', GENESIS) : { anchor: { seq: row.seq, hash: row.hash, keyId: nextKeyId(row) } };
}

export async function verifyAuditChain(db: Kysely<Schema>, keys: AuditKeyLookup, options: VerifyChainOptions = {}): Promise<ChainVerification> {
  const batchSize = positiveInteger(options.batchSize ?? 1000, 'batchSize', 10_000);
  const lookup = memoize(keys);
  const start = options.fromSeq === undefined
    ? await startAfterCheckpoint(db, lookup)
    : await startBefore(db, positiveInteger(options.fromSeq, 'fromSeq', Number.MAX_SAFE_INTEGER));
  if ('broken' in start) return start.broken;
  let head = start.anchor;
  let checked = 0;
  for (;;) {
    // Keyset pagination: one batch in memory at a time, however long the chain.
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', head.seq).orderBy('seq').limit(batchSize).execute();
    const result = verifyRecords(rows, lookup, head);
    checked += result.checked;
    if (!result.ok) return { ok: false, checked, firstBrokenSeq: result.firstBrokenSeq, reason: result.reason, head: result.head };
    head = result.head;
    if (rows.length < batchSize) return { ok: true, checked, firstBrokenSeq: null, head };
  }
}
