// Recovery codes: the way back in when the authenticator is lost. Ten per account, each
// 80 random bits written as 16 base32 symbols in groups of four (`k7qm-2xrd-6fwa-p3zt`),
// shown once and stored only as SHA-256: with 80 bits, even a stolen table cannot be
// searched for them. Typed input is forgiving (case, hyphens and spaces are ignored).
import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../../core/db/database.ts';

export const RECOVERY_CODE_COUNT = 10;
// The RFC 4648 base32 alphabet, lowercase: no 0, 1, 8 or 9 to mistake for o, l, b or g.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const CODE_LENGTH = 16;
const NORMALIZED = /^[a-z2-7]{16}$/;
const MAX_INPUT_LENGTH = 64;

function hashOf(normalized: string): string {
  return createHash('sha256').update(normalized, 'utf8').digest('hex');
}

/** One code: 16 symbols of 5 bits each from the CSPRNG (80 bits), grouped by four. */
export function createRecoveryCode(): string {
  // 80 bits from 10 random bytes, read 5 bits at a time: no modulo bias.
  const bits = BigInt(`0x${randomBytes(10).toString('hex')}`);
  const symbols = Array.from({ length: CODE_LENGTH }, (_, index) => ALPHABET.charAt(Number((bits >> BigInt(5 * index)) & 31n)));
  return [0, 4, 8, 12].map((start) => symbols.slice(start, start + 4).join('')).join('-');
}

/** What a typed code means, or null if it cannot be one (checked before any hashing). */
export function normalizeRecoveryCode(input: string): string | null {
  if (input.length > MAX_INPUT_LENGTH) return null;
  const normalized = input.toLowerCase().replace(/[\s-]/g, '');
  return NORMALIZED.test(normalized) ? normalized : null;
}

/**
 * Replaces the account's codes with a new set, in the caller's transaction, and returns
 * them (the only time they exist in clear).
 */
export async function replaceRecoveryCodes(trx: DB, userId: string, now: Date): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, createRecoveryCode);
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await trx
    .insertInto('mfa_recovery_codes')
    .values(codes.map((code) => ({ user_id: userId, code_hash: hashOf(normalizeRecoveryCode(code) ?? ''), created_at: now, used_at: null })))
    .execute();
  return codes;
}

/** Spends one code: true only for the one caller that marks an unused code of this account used. */
export async function spendRecoveryCode(db: DB, userId: string, input: string, now: Date): Promise<boolean> {
  const normalized = normalizeRecoveryCode(input);
  if (normalized === null) return false;
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashOf(normalized))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Codes of the account not yet used. */
export async function countUnusedRecoveryCodes(db: DB, userId: string): Promise<number> {
  const row = await db
    .selectFrom('mfa_recovery_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
