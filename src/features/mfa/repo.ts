// The `mfa_totp` table (migration 0011). The secret is sealed under the owner's data key,
// bound to the table, column and user id, and only this file opens it. Codes are taken
// by `claimTotpStep`, one UPDATE that raises `last_used_step`: of any number of
// concurrent submissions of one code, exactly one changes the row.
import type { Keyring } from '../../core/crypto/keyring.ts';
import { decryptField, encryptField, loadDataKeyToSeal, unwrapDataKey, type FieldContext } from '../../core/crypto/envelope.ts';
import type { DB } from '../../core/db/database.ts';
import type { TotpSecret } from './totp.ts';

const secretField = (userId: string): FieldContext => ({ table: 'mfa_totp', column: 'secret', rowId: userId });

export interface StoredTotp {
  readonly secret: TotpSecret;
  /** The sealed secret as stored: confirming names it, so only the secret a code was checked against is activated. */
  readonly sealed: string;
  readonly confirmed: boolean;
  readonly lastUsedStep: number | null;
}

/**
 * Starts (or restarts) an enrolment: an unconfirmed secret, replacing an unconfirmed one.
 * False, and nothing written, when the account has a confirmed factor already or no data
 * key (shredded).
 */
export async function saveTotpEnrolment(trx: DB, keyring: Keyring, userId: string, secret: TotpSecret, now: Date): Promise<boolean> {
  const dek = await loadDataKeyToSeal(trx, keyring, userId);
  if (dek === null) return false;
  try {
    const sealed = encryptField(dek, secretField(userId), secret.base32);
    const written = await trx
      .insertInto('mfa_totp')
      .values({ user_id: userId, secret_ciphertext: sealed, created_at: now, confirmed_at: null, last_used_step: null })
      .onConflict((conflict) => conflict.column('user_id').doUpdateSet({ secret_ciphertext: sealed, created_at: now, last_used_step: null }).where('mfa_totp.confirmed_at', 'is', null))
      .returning('user_id')
      .executeTakeFirst();
    return written !== undefined;
  } finally {
    dek.fill(0);
  }
}

/** The account's factor, opened; null when there is none or its data key is gone. */
export async function loadTotp(db: DB, keyring: Keyring, userId: string): Promise<StoredTotp | null> {
  // The factor and its owner's wrapped data key in one round trip (a login's second step).
  const row = await db
    .selectFrom('mfa_totp')
    .innerJoin('data_keys', 'data_keys.owner_id', 'mfa_totp.user_id')
    .select(['mfa_totp.secret_ciphertext', 'mfa_totp.confirmed_at', 'mfa_totp.last_used_step', 'data_keys.wrapped_key'])
    .where('mfa_totp.user_id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) return null;
  const dek = unwrapDataKey(keyring, userId, row.wrapped_key);
  try {
    return {
      secret: { base32: decryptField(dek, secretField(userId), row.secret_ciphertext) },
      sealed: row.secret_ciphertext,
      confirmed: row.confirmed_at !== null,
      lastUsedStep: row.last_used_step,
    };
  } finally {
    dek.fill(0);
  }
}

/**
 * Takes time step `step` for the account: true only if no code of this step or a later
 * one was taken before (RFC 6238 §5.2: a verified code is never accepted again).
 * `confirm` takes it on an unconfirmed enrolment and confirms it; otherwise only a
 * confirmed factor counts.
 */
export async function claimTotpStep(db: DB, userId: string, step: number, options: { readonly confirm?: { readonly at: Date; readonly sealed: string } } = {}): Promise<boolean> {
  const { confirm } = options;
  let query = db
    .updateTable('mfa_totp')
    .set({ last_used_step: step, ...(confirm === undefined ? {} : { confirmed_at: confirm.at }) })
    .where('user_id', '=', userId)
    .where('confirmed_at', confirm === undefined ? 'is not' : 'is', null);
  // A parallel restart of the enrolment replaced the secret: the code proved nothing about it.
  if (confirm !== undefined) query = query.where('secret_ciphertext', '=', confirm.sealed);
  const result = await query
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteTotp(trx: DB, userId: string): Promise<boolean> {
  const result = await trx.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
