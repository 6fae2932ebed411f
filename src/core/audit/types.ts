// The audit trail's vocabulary: what a caller records, what a stored record holds, and
// the key that seals it. Records are the table's columns in snake_case, so a row read
// from the database and a line of an NDJSON export verify through the same code.
import type { AuditOutcome } from '../db/schema.ts';

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
  turn: Promise<void>;
  readonly holders: WeakSet<object>;
}

export interface AuditDeps {
  readonly key: AuditKey;
  readonly clock: () => Date;
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

export const GENESIS: ChainPosition = { seq: 0, hash: GENESIS_HASH };
