// The `passkeys` table (migration 0014). Every read and write of another account's row is
// impossible by construction: listing, renaming and deleting take the owner's id and
// scope the statement by it. The counter moves only forward, in one guarded UPDATE
// (`advanceSignCount`), which is what makes parallel assertions race-safe.
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import type { PasskeysTable } from '../../core/db/schema.ts';

export type DeviceType = PasskeysTable['device_type'];

/** The credential as stored: public key and counter, never shown to anyone. */
interface PasskeyCredential {
  readonly userId: string;
  readonly credentialId: string;
  readonly publicKey: string;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly deviceType: DeviceType;
}

export interface NewPasskey extends PasskeyCredential {
  readonly backedUp: boolean;
  readonly name: string;
  readonly now: Date;
}

/** What the owner sees of a passkey: no key material, no counter. */
export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly deviceType: DeviceType;
  readonly backedUp: boolean;
  readonly transports: readonly string[];
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

/** What verifying an assertion needs; never leaves this feature. */
export interface StoredPasskey extends PasskeyCredential {
  readonly id: string;
}

/** The new row's id, or null when the credential id is registered already (to anyone). */
export async function insertPasskey(trx: DB, passkey: NewPasskey): Promise<string | null> {
  const row = await trx
    .insertInto('passkeys')
    .values({
      id: uuidv7(passkey.now.getTime()),
      user_id: passkey.userId,
      credential_id: passkey.credentialId,
      public_key: passkey.publicKey,
      sign_count: passkey.signCount,
      transports: [...passkey.transports],
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      name: passkey.name,
      created_at: passkey.now,
      last_used_at: null,
    })
    .onConflict((conflict) => conflict.column('credential_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function listPasskeys(db: DB, userId: string): Promise<PasskeySummary[]> {
  const rows = await db
    .selectFrom('passkeys')
    .select(['id', 'name', 'device_type', 'backed_up', 'transports', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    deviceType: row.device_type,
    backedUp: row.backed_up,
    transports: row.transports,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }));
}

/** The credential ids and transports of the account, for allow and exclude lists. */
export async function listCredentialDescriptors(db: DB, userId: string): Promise<{ id: string; transports: string[] }[]> {
  const rows = await db.selectFrom('passkeys').select(['credential_id', 'transports']).where('user_id', '=', userId).orderBy('created_at').execute();
  return rows.map((row) => ({ id: row.credential_id, transports: row.transports }));
}

export async function findPasskeyByCredentialId(db: DB, credentialId: string): Promise<StoredPasskey | null> {
  const row = await db
    .selectFrom('passkeys')
    .select(['id', 'user_id', 'credential_id', 'public_key', 'sign_count', 'transports', 'device_type'])
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    signCount: row.sign_count,
    transports: row.transports,
    deviceType: row.device_type,
  };
}

/** True if the account's passkey was renamed; false if it has no such passkey. */
export async function renamePasskey(trx: DB, userId: string, passkeyId: string, name: string): Promise<boolean> {
  const result = await trx.updateTable('passkeys').set({ name }).where('id', '=', passkeyId).where('user_id', '=', userId).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** True if the account's passkey was deleted; false if it has no such passkey. */
export async function deletePasskey(trx: DB, userId: string, passkeyId: string): Promise<boolean> {
  const result = await trx.deleteFrom('passkeys').where('id', '=', passkeyId).where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export type CounterOutcome = 'advanced' | 'regressed' | 'gone';

/**
 * Records an accepted assertion: the new counter, the backup state and the time of use,
 * only if the counter rises (WebAuthn §7.2 step 22), or stays at zero for authenticators
 * that keep none. The condition is in the UPDATE, so two assertions carrying the same
 * counter cannot both pass: the second waits for the first's row lock and then fails
 * the re-evaluated WHERE.
 */
export async function advanceSignCount(trx: DB, passkeyId: string, update: { readonly signCount: number; readonly backedUp: boolean; readonly now: Date }): Promise<CounterOutcome> {
  const { signCount } = update;
  const advanced = await trx
    .updateTable('passkeys')
    .set({ sign_count: signCount, backed_up: update.backedUp, last_used_at: update.now })
    .where('id', '=', passkeyId)
    // sign_count < new OR (sign_count = 0 AND new = 0), with `new` known here.
    .where('sign_count', signCount === 0 ? '=' : '<', signCount)
    .returning('id')
    .executeTakeFirst();
  if (advanced !== undefined) return 'advanced';
  const still = await trx.selectFrom('passkeys').select('id').where('id', '=', passkeyId).executeTakeFirst();
  return still === undefined ? 'gone' : 'regressed';
}
