// A signed statement that the chain once ran up to a given record: written by
// `gatehouse audit prune` just before it removes the records it covers, so what remains
// still verifies. signature = HMAC-SHA256(audit key, canonical JSON of every other
// field plus a purpose string). Record hashes are HMACs over text starting with the
// 64-hex previous hash, checkpoint signatures over text starting with "{", so a value
// valid as one can never pass as the other.
//
// Since key rotation (keys.ts) a checkpoint also names the key in force after the record
// it covers (`next_key_id`), so the chain it anchors cannot resume under a key rotated
// out before it. Checkpoints written before that have none, and their signed text leaves
// it out, so they still verify.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { canonicalJSON } from './canonical.ts';
import type { AuditKey, AuditKeyLookup, ChainHead } from './types.ts';

const PURPOSE = 'gatehouse.audit.checkpoint.v1';
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

export interface AuditCheckpoint {
  readonly id: string;
  /** The last record the checkpoint covers; the chain resumes at `through_seq + 1`. */
  readonly through_seq: number;
  readonly through_hash: string;
  /** How many records the prune that wrote this checkpoint removed. */
  readonly record_count: number;
  /** A Date from the database, or the ISO string of an export header. */
  readonly created_at: Date | string;
  readonly key_id: string;
  /** The key the record after `through_seq` is sealed under; null (or absent) on checkpoints older than key rotation. */
  readonly next_key_id?: string | null;
  readonly signature: string;
}

export type UnsignedCheckpoint = Omit<AuditCheckpoint, 'signature' | 'key_id'>;

function signedText(checkpoint: Omit<AuditCheckpoint, 'signature'>): string {
  const createdAt = checkpoint.created_at;
  return canonicalJSON({
    purpose: PURPOSE,
    id: checkpoint.id,
    through_seq: checkpoint.through_seq,
    through_hash: checkpoint.through_hash,
    record_count: checkpoint.record_count,
    created_at: typeof createdAt === 'string' ? createdAt : createdAt.toISOString(),
    key_id: checkpoint.key_id,
    // Left out when absent: the text older checkpoints were signed over.
    ...(checkpoint.next_key_id === null || checkpoint.next_key_id === undefined ? {} : { next_key_id: checkpoint.next_key_id }),
  });
}

function mac(key: Buffer, checkpoint: Omit<AuditCheckpoint, 'signature'>): Buffer {
  return createHmac('sha256', key).update(signedText(checkpoint)).digest();
}

export function signCheckpoint(key: AuditKey, checkpoint: UnsignedCheckpoint): AuditCheckpoint {
  const unsigned = { ...checkpoint, key_id: key.id };
  return { ...unsigned, signature: mac(key.key, unsigned).toString('hex') };
}

/** True only for a checkpoint signed by a known key; malformed input is simply invalid. */
export function checkpointIsAuthentic(checkpoint: AuditCheckpoint, keys: AuditKeyLookup): boolean {
  try {
    const key = keys(checkpoint.key_id);
    if (key === null || key.length === 0 || !SIGNATURE_PATTERN.test(checkpoint.signature)) return false;
    return timingSafeEqual(mac(key, checkpoint), Buffer.from(checkpoint.signature, 'hex'));
  } catch {
    return false;
  }
}

/** Where the chain resumes after the checkpoint, and under which key. */
export function positionAfter(checkpoint: AuditCheckpoint): ChainHead {
  return { seq: checkpoint.through_seq, hash: checkpoint.through_hash, keyId: typeof checkpoint.next_key_id === 'string' ? checkpoint.next_key_id : null };
}

/** The newest checkpoint, authentic or not: verification decides. */
export async function latestCheckpoint(db: Kysely<Schema>): Promise<AuditCheckpoint | null> {
  const row = await db.selectFrom('audit_checkpoints').selectAll().orderBy('through_seq', 'desc').limit(1).executeTakeFirst();
  return row ?? null;
}

/**
 * The checkpoint the kept records follow: null when they start at the genesis, undefined
 * when no checkpoint ends right before the oldest kept record (a gap). A prune writes its
 * checkpoint and removes the records it covers in one transaction, so the newest
 * checkpoint normally ends right before the oldest record. One that covers records still
 * here did not come from a prune, and must not decide where a walk starts: signed with an
 * old audit key and added at the head, it would restart the chain under that key and skip
 * the hand-over that retired it. Walks start from the oldest kept record instead.
 */
export async function anchoringCheckpoint(db: Kysely<Schema>): Promise<AuditCheckpoint | null | undefined> {
  const latest = await latestCheckpoint(db);
  const oldest = await db.selectFrom('audit_events').select('seq').orderBy('seq').limit(1).executeTakeFirst();
  if (latest === null || oldest === undefined || oldest.seq > latest.through_seq) return latest;
  if (oldest.seq === 1) return null;
  const row = await db.selectFrom('audit_checkpoints').selectAll().where('through_seq', '=', oldest.seq - 1).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row;
}
