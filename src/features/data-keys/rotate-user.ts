// One owner's data-key rotation, inside the caller's transaction: a new key, every value
// of SEALED_FIELDS opened under the old key and sealed again under the new one, the key
// row replaced in place, the old key id written to the retired-keys ledger. The old key
// exists nowhere once this commits, and nothing changes if it does not: a crash at any
// point leaves every value readable under whichever key the row then holds.
//
// Locks, in this order, with a short lock_timeout: the owner's users row (as an upload
// does before it seals: files/repo.ts lockOwner), the data key row FOR UPDATE (every
// writer that seals takes it FOR SHARE for its transaction: envelope.ts
// loadDataKeyToSeal), then the sealed rows. A writer that locked the users row first and
// then waits for the key would deadlock with us: the timeout makes the rotation the side
// that gives up (and retries), never a user's request.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { AES_KEY_BYTES } from '../../core/crypto/aead.ts';
import { dataKeyAAD, decryptBytes, decryptField, encryptBytes, encryptField, type FieldContext } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { SEALED_FIELDS, type SealedField } from './sealed-fields.ts';

/** How long the rotation waits for a lock a request holds before giving up on this owner for now. */
export const ROTATION_LOCK_TIMEOUT_MS = 250;

export class DataKeyRotationError extends Error {
  override readonly name = 'DataKeyRotationError';
}

export type OwnerRotation =
  | { readonly status: 'rotated'; readonly oldKeyId: string; readonly newKeyId: string; readonly fields: Readonly<Record<string, number>> }
  | { readonly status: 'skipped'; readonly reason: 'no_data_key' | 'created_after_start' };

export interface OwnerRotationOptions {
  readonly rotationId: string;
  /**
   * Only a key created before the run started is rotated (`--all`); otherwise whatever key
   * the owner has (`--user`). Compared in SQL: timestamps keep microseconds there.
   */
  readonly onlyKeysOlderThanRun: boolean;
  /** Tests only: runs after every value is re-sealed, before the key row changes and the transaction commits. */
  readonly beforeKeySwap?: () => Promise<void>;
}

interface SealedRow {
  readonly row_id: string;
  readonly value: string | Uint8Array;
}

function reseal(field: SealedField, oldKey: Buffer, newKey: Buffer, row: SealedRow): string | Buffer {
  const context: FieldContext = { table: field.table, column: field.context, rowId: row.row_id };
  if (field.kind === 'text') {
    if (typeof row.value !== 'string') throw new DataKeyRotationError(`${field.table}.${field.column} of row ${row.row_id} is not text`);
    return encryptField(newKey, context, decryptField(oldKey, context, row.value));
  }
  if (typeof row.value === 'string') throw new DataKeyRotationError(`${field.table}.${field.column} of row ${row.row_id} is not bytes`);
  // An empty column means the content is in FILES_DIR (files/content-store.ts), which a
  // transaction cannot rewrite together with the key: refused, not silently left behind.
  if (row.value.length === 0) throw new DataKeyRotationError(`${field.table}.${field.column} of row ${row.row_id} is stored in FILES_DIR; files stored there cannot be rotated yet`);
  const plain = decryptBytes(oldKey, context, row.value);
  try {
    return encryptBytes(newKey, context, plain);
  } finally {
    plain.fill(0);
  }
}

async function resealField(trx: DB, field: SealedField, ownerId: string, oldKey: Buffer, newKey: Buffer): Promise<number> {
  const table = sql.table(field.table);
  const column = sql.ref(field.column);
  const rowId = sql.ref(field.rowId);
  const { rows } = await sql<SealedRow>`
    SELECT ${rowId}::text AS row_id, ${column} AS value FROM ${table}
    WHERE ${sql.ref(field.owner)} = ${ownerId} AND ${column} IS NOT NULL
    ORDER BY ${rowId} FOR UPDATE`.execute(trx);
  for (const row of rows) {
    let sealed: string | Buffer;
    try {
      sealed = reseal(field, oldKey, newKey, row);
    } catch (error) {
      if (error instanceof DataKeyRotationError) throw error;
      // The old key stays: a value it cannot open is a fault to look at, not to destroy.
      throw new DataKeyRotationError(`${field.table}.${field.column} of row ${row.row_id} does not open under its owner's data key`, { cause: error });
    }
    const updated = await sql`UPDATE ${table} SET ${column} = ${sealed} WHERE ${rowId} = ${row.row_id} AND ${sql.ref(field.owner)} = ${ownerId}`.execute(trx);
    if (updated.numAffectedRows !== 1n) throw new DataKeyRotationError(`${field.table}.${field.column} of row ${row.row_id} changed while locked`);
  }
  return rows.length;
}

/** Rotates the owner's data key in `trx` (see the top of this file); the caller audits and commits. */
export async function rotateOwnerDataKey(trx: DB, keyring: Keyring, ownerId: string, options: OwnerRotationOptions): Promise<OwnerRotation> {
  await sql`SELECT set_config('lock_timeout', ${`${ROTATION_LOCK_TIMEOUT_MS}ms`}, true)`.execute(trx);
  await trx.selectFrom('users').select('id').where('id', '=', ownerId).forUpdate().execute();
  const current = await trx
    .selectFrom('data_keys')
    .select(['key_id', 'wrapped_key', sql<boolean>`data_keys.created_at < (SELECT r.started_at FROM data_key_rotations r WHERE r.id = ${options.rotationId})`.as('older_than_run')])
    .where('owner_id', '=', ownerId)
    .forUpdate()
    .executeTakeFirst();
  if (current === undefined) return { status: 'skipped', reason: 'no_data_key' };
  if (options.onlyKeysOlderThanRun && !current.older_than_run) {
    return { status: 'skipped', reason: 'created_after_start' };
  }
  const oldKey = keyring.unwrap(current.wrapped_key, dataKeyAAD(ownerId));
  const newKey = randomBytes(AES_KEY_BYTES);
  try {
    const fields: Record<string, number> = {};
    for (const field of SEALED_FIELDS) {
      const count = await resealField(trx, field, ownerId, oldKey, newKey);
      if (count > 0) fields[`${field.table}.${field.column}`] = count;
    }
    await options.beforeKeySwap?.();
    const newKeyId = randomUUID();
    // In place (never delete and insert): a sealer waiting FOR SHARE on this row then reads the new key.
    await trx
      .updateTable('data_keys')
      .set({ key_id: newKeyId, wrapped_key: keyring.wrap(newKey, dataKeyAAD(ownerId)), master_key_id: keyring.currentKeyId, created_at: sql<Date>`now()` })
      .where('owner_id', '=', ownerId)
      .where('key_id', '=', current.key_id)
      .executeTakeFirstOrThrow();
    await trx.insertInto('retired_data_keys').values({ key_id: current.key_id, owner_id: ownerId, retired_at: sql<Date>`now()`, rotation_id: options.rotationId }).execute();
    return { status: 'rotated', oldKeyId: current.key_id, newKeyId, fields };
  } finally {
    oldKey.fill(0);
    newKey.fill(0);
  }
}
