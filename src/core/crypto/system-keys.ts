// Secrets the server generates for itself (the blind-index key, the audit-chain key, ...),
// stored in system_keys wrapped by the master keyring. They outlive master-key rotations:
// a rotation re-wraps them, it never changes them, so what they protect stays valid.
//
// One key per purpose for now, so the row id is the purpose itself (`blind-index`). When
// a purpose needs rotating keys of its own, ids become `<purpose>:<n>` and the purpose
// column, already stored, selects among them.
import { randomBytes } from 'node:crypto';
import type { DB } from '../db/database.ts';
import { AES_KEY_BYTES } from './aead.ts';
import type { Keyring } from './keyring.ts';

const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface SystemKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The keyring AAD of a system key: a wrapped key moved to another purpose fails. */
export function systemKeyAAD(id: string): string {
  return `system-key:${id}`;
}

/** The stored key for `id`, or null when none was created yet (never creates one). */
export async function readSystemKey(db: DB, keyring: Keyring, id: string): Promise<SystemKey | null> {
  const row = await db.selectFrom('system_keys').select('wrapped_key').where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : { id, key: keyring.unwrap(row.wrapped_key, systemKeyAAD(id)) };
}

/**
 * The key for `purpose`, created (32 random bytes) on first use. Race-safe: the insert
 * does nothing if another instance got there first, and the stored row is read back, so
 * instances starting together all end up with the same key.
 */
export async function getOrCreateSystemKey(db: DB, keyring: Keyring, purpose: string): Promise<SystemKey> {
  if (!PURPOSE_PATTERN.test(purpose)) throw new TypeError('a system key purpose is lowercase letters, digits and dashes');
  const id = purpose;
  const existing = await readSystemKey(db, keyring, id);
  if (existing !== null) return existing;

  const key = randomBytes(AES_KEY_BYTES);
  const inserted = await db
    .insertInto('system_keys')
    .values({ id, purpose, master_key_id: keyring.currentKeyId, wrapped_key: keyring.wrap(key, systemKeyAAD(id)) })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted !== undefined) return { id, key };
  key.fill(0);
  const winner = await readSystemKey(db, keyring, id);
  if (winner === null) throw new Error(`system key "${id}" vanished while being created`);
  return winner;
}

/** The id of version `n` (2, 3, ...) of a rotating purpose's key; version 1 is the purpose itself. */
export function systemKeyVersionId(purpose: string, version: number): string {
  if (!PURPOSE_PATTERN.test(purpose)) throw new TypeError('a system key purpose is lowercase letters, digits and dashes');
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError('a system key version is a positive integer');
  return version === 1 ? purpose : `${purpose}:${version}`;
}

/** The version number in a key id made by systemKeyVersionId (1 for the bare purpose). */
export function systemKeyVersion(purpose: string, id: string): number | null {
  if (id === purpose) return 1;
  const match = /^([a-z0-9-]+):([1-9][0-9]{0,8})$/.exec(id);
  return match?.[1] === purpose && match[2] !== undefined ? Number(match[2]) : null;
}

/**
 * Creates the key `id` (a new version of `purpose`: systemKeyVersionId) unless it exists,
 * and answers the stored one: running it twice, or two runs at once, yield the same key.
 */
export async function createSystemKeyVersion(db: DB, keyring: Keyring, purpose: string, id: string): Promise<SystemKey> {
  if (systemKeyVersion(purpose, id) === null) throw new TypeError(`"${id}" is not a key id of purpose "${purpose}"`);
  const key = randomBytes(AES_KEY_BYTES);
  try {
    await db
      .insertInto('system_keys')
      .values({ id, purpose, master_key_id: keyring.currentKeyId, wrapped_key: keyring.wrap(key, systemKeyAAD(id)) })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .execute();
  } finally {
    key.fill(0);
  }
  const stored = await readSystemKey(db, keyring, id);
  if (stored === null) throw new Error(`system key "${id}" vanished while being created`);
  return stored;
}

/** Destroys a retired key version: what it protected can no longer be computed or read. */
export async function deleteSystemKey(db: DB, id: string): Promise<boolean> {
  const result = await db.deleteFrom('system_keys').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
