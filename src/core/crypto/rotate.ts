// `gatehouse keys rotate-master`: after the operator puts a new key first in the keyring
// (keeping the old one), this re-wraps every data key and system key under the new key;
// then the old key can be removed. The wrapped secrets themselves never change, so no
// field, index or signature under them needs touching.
//
// Safe while the server serves: each row is replaced by one UPDATE whose WHERE repeats the
// old master key id and the old wrapped value (a compare-and-swap). A row that changed
// meanwhile (re-wrapped by a concurrent run, shredded, or re-created) is left alone and
// not counted. Resumable: a run that stops part-way leaves every row either old or new,
// and the next run picks up whatever is still old.
import type { DB } from '../db/database.ts';
import { dataKeyAAD } from './envelope.ts';
import type { Keyring } from './keyring.ts';
import { systemKeyAAD } from './system-keys.ts';

const DEFAULT_BATCH_SIZE = 100;
const MAX_BATCH_SIZE = 10_000;

export interface RewrapOptions {
  readonly batchSize?: number;
}

export interface RewrapCounts {
  readonly dataKeys: number;
  readonly systemKeys: number;
}

/** A data_keys row as read before re-wrapping it. */
export interface StoredDataKey {
  readonly owner_id: string;
  readonly master_key_id: string;
  readonly wrapped_key: string;
}

/** A system_keys row as read before re-wrapping it. */
export interface StoredSystemKey {
  readonly id: string;
  readonly master_key_id: string;
  readonly wrapped_key: string;
}

function rewrapValue(keyring: Keyring, wrapped: string, aad: string, what: string, masterKeyId: string): string {
  let secret: Buffer;
  try {
    secret = keyring.unwrap(wrapped, aad);
  } catch (error) {
    throw new Error(`rotation stopped: ${what} (master key "${masterKeyId}") could not be unwrapped; is that key still in the keyring?`, { cause: error });
  }
  try {
    return keyring.wrap(secret, aad);
  } finally {
    secret.fill(0);
  }
}

/** Re-wraps one data key under the current master key; false if the row changed meanwhile. */
export async function rewrapDataKey(db: DB, keyring: Keyring, row: StoredDataKey): Promise<boolean> {
  const aad = dataKeyAAD(row.owner_id);
  const wrapped = rewrapValue(keyring, row.wrapped_key, aad, `the data key of owner ${row.owner_id}`, row.master_key_id);
  const result = await db
    .updateTable('data_keys')
    .set({ master_key_id: keyring.currentKeyId, wrapped_key: wrapped })
    .where('owner_id', '=', row.owner_id)
    .where('master_key_id', '=', row.master_key_id)
    .where('wrapped_key', '=', row.wrapped_key)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Re-wraps one system key under the current master key; false if the row changed meanwhile. */
export async function rewrapSystemKey(db: DB, keyring: Keyring, row: StoredSystemKey): Promise<boolean> {
  const aad = systemKeyAAD(row.id);
  const wrapped = rewrapValue(keyring, row.wrapped_key, aad, `system key "${row.id}"`, row.master_key_id);
  const result = await db
    .updateTable('system_keys')
    .set({ master_key_id: keyring.currentKeyId, wrapped_key: wrapped })
    .where('id', '=', row.id)
    .where('master_key_id', '=', row.master_key_id)
    .where('wrapped_key', '=', row.wrapped_key)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

// Keyset pagination by primary key: each pass visits every stale row once and ends, even
// if some rows keep failing their compare-and-swap.
async function rewrapDataKeys(db: DB, keyring: Keyring, batchSize: number): Promise<number> {
  let count = 0;
  let after: string | null = null;
  for (;;) {
    let query = db
      .selectFrom('data_keys')
      .select(['owner_id', 'master_key_id', 'wrapped_key'])
      .where('master_key_id', '<>', keyring.currentKeyId);
    if (after !== null) query = query.where('owner_id', '>', after);
    const rows = await query.orderBy('owner_id').limit(batchSize).execute();
    for (const row of rows) if (await rewrapDataKey(db, keyring, row)) count += 1;
    const last = rows.at(-1);
    if (last === undefined || rows.length < batchSize) return count;
    after = last.owner_id;
  }
}

async function rewrapSystemKeys(db: DB, keyring: Keyring, batchSize: number): Promise<number> {
  let count = 0;
  let after: string | null = null;
  for (;;) {
    let query = db
      .selectFrom('system_keys')
      .select(['id', 'master_key_id', 'wrapped_key'])
      .where('master_key_id', '<>', keyring.currentKeyId);
    if (after !== null) query = query.where('id', '>', after);
    const rows = await query.orderBy('id').limit(batchSize).execute();
    for (const row of rows) if (await rewrapSystemKey(db, keyring, row)) count += 1;
    const last = rows.at(-1);
    if (last === undefined || rows.length < batchSize) return count;
    after = last.id;
  }
}

/** Re-wraps every data key and system key not yet under the current master key. */
export async function rewrapAll(db: DB, keyring: Keyring, options: RewrapOptions = {}): Promise<RewrapCounts> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
  const systemKeys = await rewrapSystemKeys(db, keyring, batchSize);
  const dataKeys = await rewrapDataKeys(db, keyring, batchSize);
  return { dataKeys, systemKeys };
}
