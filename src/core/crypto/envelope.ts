// Envelope encryption: each owner (a user) has one random data key, stored wrapped by the
// master keyring in data_keys; that owner's personal fields are encrypted under it.
// Deleting the row crypto-shreds every such field in the live database. Not in backups:
// a backup taken before the deletion still holds the wrapped data key, and the master
// key that wrapped it still unwraps it (docs/operations.md#backups). A field ciphertext
// is bound to its table, column and row, so it cannot be copied anywhere else.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DB } from '../db/database.ts';
import { AES_KEY_BYTES, CryptoError, decodeBase64url, IV_BYTES, open, seal } from './aead.ts';
import { UUID_PATTERN } from './ids.ts';
import type { Keyring } from './keyring.ts';

const FIELD_VERSION = 'f1';

/** Where a field lives; the ciphertext only opens in this exact place. */
export interface FieldContext {
  readonly table: string;
  readonly column: string;
  readonly rowId: string;
}

// The owner id is compared as text inside the AAD, so only the canonical lowercase form
// (what PostgreSQL returns for a uuid) is accepted; anything else is a caller bug.
function assertOwnerId(ownerId: string): void {
  if (!UUID_PATTERN.test(ownerId)) throw new TypeError('owner id must be a lowercase UUID');
}

/** The keyring AAD of an owner's data key: a wrapped key moved to another owner fails. */
export function dataKeyAAD(ownerId: string): string {
  return `data-key:${ownerId}`;
}

/**
 * Creates the owner's data key and returns it. If the owner already has one (a concurrent
 * call won), that stored key is returned instead: a key is never replaced.
 */
export async function createDataKey(db: DB, keyring: Keyring, ownerId: string): Promise<Buffer> {
  assertOwnerId(ownerId);
  const key = randomBytes(AES_KEY_BYTES);
  const inserted = await db
    .insertInto('data_keys')
    .values({ owner_id: ownerId, master_key_id: keyring.currentKeyId, wrapped_key: keyring.wrap(key, dataKeyAAD(ownerId)) })
    .onConflict((conflict) => conflict.column('owner_id').doNothing())
    .returning('owner_id')
    .executeTakeFirst();
  if (inserted !== undefined) return key;
  key.fill(0);
  const existing = await loadDataKey(db, keyring, ownerId);
  if (existing === null) throw new Error('data key vanished while being created');
  return existing;
}

async function readDataKey(db: DB, keyring: Keyring, ownerId: string, options: { readonly lockForSealing: boolean }): Promise<Buffer | null> {
  assertOwnerId(ownerId);
  const row = await db
    .selectFrom('data_keys')
    .select('wrapped_key')
    .where('owner_id', '=', ownerId)
    .$if(options.lockForSealing, (query) => query.forShare())
    .executeTakeFirst();
  return row === undefined ? null : keyring.unwrap(row.wrapped_key, dataKeyAAD(ownerId));
}

/** The owner's data key, or null when the owner has none (never created, or shredded). */
export async function loadDataKey(db: DB, keyring: Keyring, ownerId: string): Promise<Buffer | null> {
  return readDataKey(db, keyring, ownerId, { lockForSealing: false });
}

/**
 * The owner's data key, for sealing new values under it inside the caller's transaction
 * (`trx`, never the root handle). The key's row is locked FOR SHARE until that transaction
 * ends, so a data-key rotation (features/data-keys), which locks the row FOR UPDATE, cannot
 * destroy this key while the caller is still writing values sealed under it: either the
 * rotation waits for the commit and then re-seals those values too, or this read waits
 * for the rotation and gets the new key. Without the lock a login racing a rotation would
 * store a session sealed under a key that no longer exists. Concurrent sealers share it.
 */
export async function loadDataKeyToSeal(trx: DB, keyring: Keyring, ownerId: string): Promise<Buffer | null> {
  return readDataKey(trx, keyring, ownerId, { lockForSealing: true });
}

/** An owner's data key from its stored wrapped form, for a caller that read the row itself (in a join). */
export function unwrapDataKey(keyring: Keyring, ownerId: string, wrapped: string): Buffer {
  assertOwnerId(ownerId);
  return keyring.unwrap(wrapped, dataKeyAAD(ownerId));
}

/**
 * Deletes the owner's data key, making every field encrypted under it unrecoverable from
 * this database, and records the erasure in the ledger (`shredded_keys`) that a restore of
 * an older backup re-applies (features/backup/erasures.ts). Call it inside the erasure's
 * transaction, so the ledger row and the deletion commit together.
 */
export async function shredDataKey(db: DB, ownerId: string): Promise<boolean> {
  assertOwnerId(ownerId);
  const result = await db.deleteFrom('data_keys').where('owner_id', '=', ownerId).executeTakeFirst();
  await db
    .insertInto('shredded_keys')
    .values({ owner_id: ownerId, shredded_at: sql<Date>`now()` })
    .onConflict((conflict) => conflict.column('owner_id').doNothing())
    .execute();
  return result.numDeletedRows > 0n;
}

// Each part is length-prefixed, so no choice of names can make two contexts collide
// (`a.b`+`c` versus `a`+`b.c`), whatever characters they contain.
function fieldAAD(context: FieldContext): Buffer {
  const parts = [FIELD_VERSION, context.table, context.column, context.rowId].map((part) => {
    if (part === '') throw new TypeError('a field context needs a table, a column and a row id');
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  return Buffer.concat(parts);
}

function assertDataKey(dek: Buffer): void {
  if (dek.length !== AES_KEY_BYTES) throw new TypeError(`a data key must be ${AES_KEY_BYTES} bytes`);
}

/** Encrypts one field value under the owner's data key: `f1.<iv>.<ciphertext+tag>`. */
export function encryptField(dek: Buffer, context: FieldContext, plaintext: string): string {
  assertDataKey(dek);
  // A lone surrogate would be silently replaced by U+FFFD and not round-trip.
  if (!plaintext.isWellFormed()) throw new TypeError('the field value is not well-formed Unicode');
  const { iv, sealed } = seal(dek, Buffer.from(plaintext, 'utf8'), fieldAAD(context));
  return `${FIELD_VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** Decrypts a field value; throws `CryptoError` unless it was encrypted for this exact place. */
export function decryptField(dek: Buffer, context: FieldContext, ciphertext: string): string {
  assertDataKey(dek);
  const parts = ciphertext.split('.');
  if (parts.length !== 3 || parts[0] !== FIELD_VERSION) throw new CryptoError('malformed');
  const iv = decodeBase64url(parts[1] ?? '');
  const sealed = decodeBase64url(parts[2] ?? '');
  if (iv === null || sealed === null) throw new CryptoError('malformed');
  return open(dek, iv, sealed, fieldAAD(context)).toString('utf8');
}

// Binary values (uploaded files) are sealed as bytes, not base64 text: `b1` || iv ||
// ciphertext+tag, bound to their place exactly as a field is.
const BYTES_VERSION = Buffer.from('b1', 'latin1');

/** Encrypts a binary value under the owner's data key, for a bytea column. */
export function encryptBytes(dek: Buffer, context: FieldContext, plaintext: Uint8Array): Buffer {
  assertDataKey(dek);
  const { iv, sealed } = seal(dek, Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength), fieldAAD(context));
  return Buffer.concat([BYTES_VERSION, iv, sealed]);
}

/** Decrypts a binary value; throws `CryptoError` unless it was encrypted for this exact place. */
export function decryptBytes(dek: Buffer, context: FieldContext, ciphertext: Uint8Array): Buffer {
  assertDataKey(dek);
  const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  if (bytes.length < BYTES_VERSION.length + IV_BYTES || !bytes.subarray(0, BYTES_VERSION.length).equals(BYTES_VERSION)) throw new CryptoError('malformed');
  const iv = bytes.subarray(BYTES_VERSION.length, BYTES_VERSION.length + IV_BYTES);
  return open(dek, iv, bytes.subarray(BYTES_VERSION.length + IV_BYTES), fieldAAD(context));
}
