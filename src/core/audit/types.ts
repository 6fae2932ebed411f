// The audit trail's vocabulary: what a caller records, what a stored record holds, and
// the key that seals it. Records are the table's columns in snake_case, so a row read
// from the database and a line of an NDJSON export verify through the same code.
import type { Transaction } from 'kysely';
import type { AuditOutcome, Schema } from '../db/schema.ts';

export type { AuditOutcome };

/** The HMAC key sealing the chain, unwrapped from a system key by the caller. */
export interface AuditKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Looks up a key by id for verification; `null` when the id is unknown. */
export type AuditKeyLookup = (keyId: string) => Buffer | null;

/** A point in the chain: a record's seq and hash (`seq` 0 before the first record). */
export interface ChainPosition {
  readonly seq: number;
  readonly hash: string;
}

/**
 * A point in the chain and the id of the key the next record must be sealed under: the
 * key of the record at that point, or the key a hand-over there names (keys.ts). Null
 * where nothing pins it: before the first record, after a checkpoint written before key
 * rotation existed, or at the start of a partial export.
 */
export interface ChainHead extends ChainPosition {
  /** Absent means null: positions made before key rotation existed. */
  readonly keyId?: string | null;
}

/**
 * The last record this process appended. Only a guess: another instance may have
 * appended since, or the transaction that wrote it may have rolled back, so an append
 * uses it only through an insert that checks it against the table under the lock.
 *
 * `turn` orders this process's appends: each one sends its locking insert only after
 * the previous one's has returned, so its guess (the previous one's record) is right
 * unless another instance or a rollback came between. `holders` are the transactions
 * that already hold the chain lock; they append again without waiting for a turn, which
 * would wait on them.
 */
export interface ChainHeadCache {
  current: ChainPosition | null;
  /** The key this process sealed its last record under, its guess of the key in force. */
  key: AuditKey | null;
  turn: Promise<void>;
  readonly holders: WeakSet<object>;
}

export interface AuditDeps {
  /** The key this process starts sealing with: the one in force when it started. */
  readonly key: AuditKey;
  readonly clock: () => Date;
  /**
   * Loads the key with this id, read in the appending transaction, when the chain is in
   * force under another key than this process holds (a rotation by another process);
   * null when there is no such audit key. Without it such an append fails.
   */
  readonly loadKey?: (trx: Transaction<Schema>, keyId: string) => Promise<AuditKey | null>;
  /** Saves reading the head under the lock when this process wrote it; one per process. */
  readonly headCache?: ChainHeadCache;
}

export interface AuditEventInput {
  readonly actor: { readonly type: string; readonly id?: string };
  readonly action: string;
  readonly target?: { readonly type: string; readonly id: string };
  readonly outcome: AuditOutcome;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One stored record: every column of `audit_events`. */
export interface AuditRecord {
  readonly seq: number;
  readonly id: string;
  /** A Date from the database, or the ISO string of an export. */
  readonly occurred_at: Date | string;
  readonly actor_type: string;
  readonly actor_id: string | null;
  readonly action: string;
  readonly target_type: string | null;
  readonly target_id: string | null;
  readonly outcome: AuditOutcome;
  readonly ip: string | null;
  readonly user_agent: string | null;
  /**
   * HMAC-SHA256 under the record's key of its id, ip and user agent (personal.ts). When
   * set, the hash covers it instead of the two values, which may then be redacted in
   * place; null (or absent, in an older export) on records written before migration 0017.
   */
  readonly personal_digest?: string | null;
  /** HMAC of the id and the network of ip (personal.ts); set with `personal_digest`. */
  readonly network_digest?: string | null;
  readonly request_id: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly key_id: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** Everything the hash covers: the record without its own hash. */
export type AuditContent = Omit<AuditRecord, 'hash'>;

export interface AppendedAuditEvent {
  readonly seq: number;
  readonly id: string;
  readonly hash: string;
}

/** The chain starts from this `prev_hash`; the first record has `seq` 1. */
export const GENESIS_HASH = '0'.repeat(64);

export const GENESIS: ChainHead = { seq: 0, hash: GENESIS_HASH, keyId: null };
