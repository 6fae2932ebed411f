// WebAuthn challenges (§13.4.3): 32 random bytes per ceremony, issued by the server,
// stored only as the SHA-256 of their base64url form, bound to a purpose and (except for
// passwordless login) to an account, spent once, and dead after 5 minutes. The response
// to a ceremony names its challenge in clientDataJSON; `consumeChallenge` is the one
// UPDATE that accepts it, so a recorded response cannot be replayed, a challenge issued
// to one account cannot be answered for another, and of parallel answers one wins.
import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../../core/db/database.ts';
import type { WebAuthnChallengePurpose } from '../../core/db/schema.ts';

export const CHALLENGE_BYTES = 32;
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
// 32 bytes are 43 base64url characters; anything else in clientDataJSON is not ours.
const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface IssuedChallenge {
  /** The bytes to put in the ceremony's options. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** base64url, as it comes back in clientDataJSON. */
  readonly encoded: string;
  /** What the table stores: SHA-256 (hex) of `encoded`. */
  readonly hash: string;
  readonly expiresAt: Date;
}

/** A ceremony's options, for the browser, with the hash of their challenge, for a caller that binds the answer to them. */
export interface CeremonyOptions<T> {
  readonly options: T;
  readonly challengeHash: string;
}

export interface ChallengeScope {
  readonly purpose: WebAuthnChallengePurpose;
  /** The account the ceremony is for; null for passwordless login. */
  readonly userId: string | null;
}

/** SHA-256 (hex) of a challenge's base64url form, as stored. */
export function hashChallenge(encoded: string): string {
  return createHash('sha256').update(encoded, 'utf8').digest('hex');
}

export async function issueChallenge(db: DB, scope: ChallengeScope, now: Date): Promise<IssuedChallenge> {
  const bytes = new Uint8Array(randomBytes(CHALLENGE_BYTES));
  const encoded = Buffer.from(bytes).toString('base64url');
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS);
  const hash = hashChallenge(encoded);
  await db
    .insertInto('webauthn_challenges')
    .values({ challenge_hash: hash, user_id: scope.userId, purpose: scope.purpose, created_at: now, expires_at: expiresAt, used_at: null })
    .execute();
  return { bytes, encoded, hash, expiresAt };
}

/**
 * Spends `encoded` for this purpose and account: true only for the one caller that
 * marks an unexpired, unused challenge issued for exactly this scope. Anything that is
 * not the shape of our challenges is false before any query.
 */
export async function consumeChallenge(trx: DB, encoded: string, scope: ChallengeScope, now: Date): Promise<boolean> {
  if (!CHALLENGE_SHAPE.test(encoded)) return false;
  const { userId } = scope;
  const spent = await trx
    .updateTable('webauthn_challenges')
    .set({ used_at: now })
    .where('challenge_hash', '=', hashChallenge(encoded))
    .where('purpose', '=', scope.purpose)
    .where('user_id', userId === null ? 'is' : '=', userId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('challenge_hash')
    .executeTakeFirst();
  return spent !== undefined;
}

/** Deletes challenges past their expiry (spent or not); returns how many. */
export async function purgeExpiredChallenges(db: DB, now: Date): Promise<number> {
  // A bounded batch, skipping rows another request is deleting: concurrent callers never
  // wait on each other. More rows go per call than one call makes, so the table cannot grow.
  const result = await db
    .deleteFrom('webauthn_challenges')
    .where('challenge_hash', 'in', (eb) =>
      eb.selectFrom('webauthn_challenges').select('challenge_hash').where('expires_at', '<=', now).limit(100).forUpdate().skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
