// Secrets the server generates for itself (the blind-index key, the audit-chain key, ...),
// stored in system_keys wrapped by the master keyring. They outlive master-key rotations:
// a rotation re-wraps them, it never changes them, so what they protect stays valid.
//
// Version 1 of a purpose's key has the purpose itself as its id (`blind-index`); a purpose
// whose key rotates adds versions `<purpose>:<n>` (the audit-chain key: core/audit/keys.ts),
// and the purpose column, already stored, selects among them.
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
  return getOrCreateSystemKeyVersion(db, keyring, purpose, 1);
}

/** The id of version `version` of a purpose's key: the purpose itself for version 1, `<purpose>:<n>` after. */
export function systemKeyVersionId(purpose: string, version: number): string {
  if (!PURPOSE_PATTERN.test(purpose)) throw new TypeError('a system key purpose is lowercase letters, digits and dashes');
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError('a system key version is a positive integer');
  return version === 1 ? purpose : `${purpose}:${version}`;
}

/** The version an id names for `purpose` (1 for the bare purpose), or null when it names another purpose. */
export function systemKeyVersionOf(purpose: string, id: string): number | null {
  if (id === purpose) return 1;
  const match = /^([a-z0-9][a-z0-9-]{0,62}):([1-9][0-9]{0,8})$/.exec(id);
  if (match?.[1] !== purpose) return null;
  const version = Number(match[2]);
  return version >= 2 ? version : null;
}

/** Every stored version of `purpose`'s key, oldest first. */
export async function readSystemKeysOfPurpose(db: DB, keyring: Keyring, purpose: string): Promise<SystemKey[]> {
  const rows = await db.selectFrom('system_keys').select(['id', 'wrapped_key']).where('purpose', '=', purpose).execute();
  return rows
    .filter((row) => systemKeyVersionOf(purpose, row.id) !== null)
    .sort((a, b) => (systemKeyVersionOf(purpose, a.id) ?? 0) - (systemKeyVersionOf(purpose, b.id) ?? 0))
    .map((row) => ({ id: row.id, key: keyring.unwrap(row.wrapped_key, systemKeyAAD(row.id)) }));
}

/** Version `version` of `purpose`'s key, created on first use, race-safe like getOrCreateSystemKey. */
export async function getOrCreateSystemKeyVersion(db: DB, keyring: Keyring, purpose: string, version: number): Promise<SystemKey> {
  const id = systemKeyVersionId(purpose, version);
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

/**
 * Creates the key `id` (a new version of `purpose`: systemKeyVersionId) unless it exists,
 * and answers the stored one: running it twice, or two runs at once, yield the same key.
 */
export async function createSystemKeyVersion(db: DB, keyring: Keyring, purpose: string, id: string): Promise<SystemKey> {
  const version = systemKeyVersionOf(purpose, id);
  if (version === null) throw new TypeError(`"${id}" is not a key id of purpose "${purpose}"`);
  return getOrCreateSystemKeyVersion(db, keyring, purpose, version);
}

/** Destroys a retired key version: what it protected can no longer be computed or read. */
export async function deleteSystemKey(db: DB, id: string): Promise<boolean> {
  const result = await db.deleteFrom('system_keys').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
