// Email verification and password reset tokens: 256 random bits, stored only as SHA-256,
// consumed by one conditional UPDATE so a token works once even under concurrent use.
import { hashToken, randomToken } from '../../core/crypto/random.ts';
import type { DB } from '../../core/db/database.ts';
import type { OneTimeTokenPurpose } from '../../core/db/schema.ts';

export const ONE_TIME_TOKEN_TTL: Readonly<Record<OneTimeTokenPurpose, number>> = {
  verify_email: 24 * 3600,
  password_reset: 30 * 60,
  // Issued with the deletion's grace period as its lifetime; this is the longest it may be.
  cancel_deletion: 90 * 86_400,
};
/**
 * An administrator's invitation is a `password_reset` token that lives longer: it sets
 * the first password (and so verifies the address) through the same reset endpoint, and
 * the invited person may not read their mail within 30 minutes.
 */
export const INVITATION_TTL = 72 * 3600;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export async function issueOneTimeToken(
  trx: DB,
  purpose: OneTimeTokenPurpose,
  userId: string,
  now: Date,
  options: { readonly ttlSeconds?: number } = {},
): Promise<string> {
  const token = randomToken(32);
  const ttlSeconds = options.ttlSeconds ?? ONE_TIME_TOKEN_TTL[purpose];
  await trx
    .insertInto('one_time_tokens')
    .values({
      token_hash: hashToken(token),
      purpose,
      user_id: userId,
      created_at: now,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000),
    })
    .execute();
  return token;
}

/** Marks the token used and returns its user, or null (unknown, used, expired, other purpose). */
export async function consumeOneTimeToken(trx: DB, purpose: OneTimeTokenPurpose, token: string, now: Date): Promise<string | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const row = await trx
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', hashToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id ?? null;
}

/** Whether the token is currently usable, without spending it (a cheap check before costly work). */
export async function isOneTimeTokenUsable(db: DB, purpose: OneTimeTokenPurpose, token: string, now: Date): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  const row = await db
    .selectFrom('one_time_tokens')
    .select('user_id')
    .where('token_hash', '=', hashToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

/** Spends every outstanding token of a purpose: once one reset succeeds, the others die. */
export async function expireOneTimeTokens(trx: DB, purpose: OneTimeTokenPurpose, userId: string, now: Date): Promise<void> {
  await trx
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}
