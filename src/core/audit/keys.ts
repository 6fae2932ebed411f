// The versions of the audit-chain key and the hand-over between them. Version 1 is the
// system key `audit-chain`; `gatehouse keys rotate-audit` (rotate-key.ts) adds
// `audit-chain:2`, `audit-chain:3`, ... Which key seals a record is told by the chain:
// the key of the record before it, unless that one is a hand-over (`audit.key_rotated`),
// which names the key of every record after it. The hand-over is sealed under the old
// key, so nobody without the old key can forge one, and it carries a commitment to the
// new key (an HMAC under the new key of a fixed label and its id): its MAC is then
// HMAC(old key, ... new key id ... HMAC(new key, label)), which a verifier holding both
// keys checks, so a key substituted under the new id fails too. Old versions stay stored
// until no record kept needs them (prune.ts drops them).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../crypto/keyring.ts';
import { getOrCreateSystemKey, readSystemKey, readSystemKeysOfPurpose, systemKeyVersionOf } from '../crypto/system-keys.ts';
import type { Schema } from '../db/schema.ts';
import type { AuditKey, AuditKeyLookup } from './types.ts';

export const AUDIT_KEY_PURPOSE = 'audit-chain';
export const HANDOVER_ACTION = 'audit.key_rotated';
const KEY_CHECK_LABEL = 'gatehouse.audit.key-check.v1';
const KEY_ID_PATTERN = /^[a-z0-9][a-z0-9:-]{0,127}$/;
const HEX_64 = /^[0-9a-f]{64}$/;

/** The commitment to a key that a hand-over carries. */
export function keyCheck(key: Buffer, keyId: string): string {
  return createHmac('sha256', key).update(`${KEY_CHECK_LABEL}\n${keyId}`).digest('hex');
}

export interface Handover {
  readonly fromKeyId: string;
  readonly newKeyId: string;
  readonly newKeyCheck: string;
}

/** The details of the hand-over from `from` to `to`. */
export function handoverDetails(from: AuditKey, to: AuditKey): Record<string, string> {
  return { from_key_id: from.id, new_key_id: to.id, new_key_check: keyCheck(to.key, to.id) };
}

/** A hand-over's details, or null when they are not well formed. */
export function readHandover(details: unknown): Handover | null {
  if (typeof details !== 'object' || details === null) return null;
  const { from_key_id: from, new_key_id: to, new_key_check: check } = details as Record<string, unknown>;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof check !== 'string') return null;
  if (!KEY_ID_PATTERN.test(from) || !KEY_ID_PATTERN.test(to) || from === to || !HEX_64.test(check)) return null;
  return { fromKeyId: from, newKeyId: to, newKeyCheck: check };
}

/** Whether `key` is the key a hand-over committed to. */
export function handoverNames(handover: Handover, key: Buffer): boolean {
  return timingSafeEqual(Buffer.from(keyCheck(key, handover.newKeyId), 'hex'), Buffer.from(handover.newKeyCheck, 'hex'));
}

/** The key id the record after this one is sealed under (SQL: audit_next_key_id, migration 0025). */
export function nextKeyId(record: { readonly action: string; readonly key_id: string; readonly details: unknown }): string | null {
  if (record.action !== HANDOVER_ACTION) return record.key_id;
  const named = typeof record.details === 'object' && record.details !== null ? (record.details as Record<string, unknown>)['new_key_id'] : undefined;
  return typeof named === 'string' ? named : null;
}

/** The version an audit key id names, or null when it is not one. */
export function auditKeyVersion(keyId: string): number | null {
  return systemKeyVersionOf(AUDIT_KEY_PURPOSE, keyId);
}

/** The stored audit key `keyId`, or null when it is not an audit key id or not stored. */
export async function loadAuditKey(db: Kysely<Schema>, keyring: Keyring, keyId: string): Promise<AuditKey | null> {
  if (auditKeyVersion(keyId) === null) return null;
  return readSystemKey(db, keyring, keyId);
}

/** Every stored audit key version, for verifying a chain that spans rotations. */
export async function loadAuditKeyLookup(db: Kysely<Schema>, keyring: Keyring): Promise<AuditKeyLookup> {
  const keys = new Map((await readSystemKeysOfPurpose(db, keyring, AUDIT_KEY_PURPOSE)).map((key) => [key.id, key.key]));
  return (keyId) => keys.get(keyId) ?? null;
}

/** The id of the key in force at the head (read without the chain lock: a starting guess), or null for an empty chain. */
export async function keyIdInForce(db: Kysely<Schema>): Promise<string | null> {
  const head = await db.selectFrom('audit_events').select(['action', 'key_id', 'details']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (head !== undefined) return nextKeyId(head);
  const checkpoint = await db.selectFrom('audit_checkpoints').select(['next_key_id']).orderBy('through_seq', 'desc').limit(1).executeTakeFirst();
  return checkpoint?.next_key_id ?? null;
}

/** The key a process starts sealing with: the one in force, version 1 (created on first use) for a new chain. */
export async function auditKeyInForce(db: Kysely<Schema>, keyring: Keyring): Promise<AuditKey> {
  const keyId = await keyIdInForce(db);
  if (keyId === null || keyId === AUDIT_KEY_PURPOSE) return getOrCreateSystemKey(db, keyring, AUDIT_KEY_PURPOSE);
  const key = await loadAuditKey(db, keyring, keyId);
  if (key === null) throw new Error(`the audit chain is sealed under key "${keyId}", which is not stored`);
  return key;
}

/** The audit key versions a process has loaded: the one it started with, and any it loads later. */
export interface AuditKeyStore {
  /** The versions loaded so far, for verifying what this process wrote. */
  readonly lookup: AuditKeyLookup;
  /** One version, read in `db` (the appending transaction) and remembered; null when it is not stored. */
  load(db: Kysely<Schema>, keyId: string): Promise<AuditKey | null>;
  /** Every stored version, read afresh and remembered: what a verification of the whole chain needs. */
  loadAll(db: Kysely<Schema>): Promise<AuditKeyLookup>;
}

export function createAuditKeyStore(keyring: Keyring, initial: AuditKey): AuditKeyStore {
  const known = new Map<string, Buffer>([[initial.id, initial.key]]);
  const lookup: AuditKeyLookup = (keyId) => known.get(keyId) ?? null;
  return {
    lookup,
    async load(db, keyId) {
      const cached = known.get(keyId);
      if (cached !== undefined) return { id: keyId, key: cached };
      const loaded = await loadAuditKey(db, keyring, keyId);
      if (loaded !== null) known.set(loaded.id, loaded.key);
      return loaded;
    },
    async loadAll(db) {
      for (const key of await readSystemKeysOfPurpose(db, keyring, AUDIT_KEY_PURPOSE)) known.set(key.id, key.key);
      return lookup;
    },
  };
}
