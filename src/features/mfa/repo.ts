// The `mfa_totp` table (migration 0011). The secret is sealed under the owner's data key,
// bound to the table, column and user id, and only this file opens it. Codes are taken
// by `claimTotpStep`, one UPDATE that raises `last_used_step`: of any number of
// concurrent submissions of one code, exactly one changes the row.
import type { Keyring } from '../../core/crypto/keyring.ts';
import { decryptField, encryptField, loadDataKey, type FieldContext } from '../../core/crypto/envelope.ts';
import type { DB } from '../../core/db/database.ts';
import type { TotpSecret } from './totp.ts';

const secretField = (userId: string): FieldContext => ({ table: 'mfa_totp', column: 'secret', rowId: userId });

export interface StoredTotp {
  readonly secret: TotpSecret;
  readonly confirmed: boolean;
  readonly lastUsedStep: number | null;
}

/**
 * Starts (or restarts) an enrolment: an unconfirmed secret, replacing an unconfirmed one.
 * False, and nothing written, when the account has a confirmed factor already or no data
 * key (shredded).
 */
export async function saveTotpEnrolment(trx: DB, keyring: Keyring, userId: string, secret: TotpSecret, now: Date): Promise<boolean> {
  const dek = await loadDataKey(trx, keyring, userId);
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
  const row = await db.selectFrom('mfa_totp').select(['secret_ciphertext', 'confirmed_at', 'last_used_step']).where('user_id', '=', userId).executeTakeFirst();
  if (row === undefined) return null;
  const dek = await loadDataKey(db, keyring, userId);
  if (dek === null) return null;
  try {
    return {
      secret: { base32: decryptField(dek, secretField(userId), row.secret_ciphertext) },
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
export async function claimTotpStep(db: DB, userId: string, step: number, options: { readonly confirmAt?: Date } = {}): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ last_used_step: step, ...(options.confirmAt === undefined ? {} : { confirmed_at: options.confirmAt }) })
    .where('user_id', '=', userId)
    .where('confirmed_at', options.confirmAt === undefined ? 'is not' : 'is', null)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteTotp(trx: DB, userId: string): Promise<boolean> {
  const result = await trx.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
