// The second step of a login (migration 0013). A correct password for an account with a
// second factor yields an `mfa_token`: 256 random bits, stored only as SHA-256, valid five
// minutes. Each attempt with it is counted before its code is checked (at most
// MAX_ATTEMPTS, then the token is spent), and the login it completes marks it used in the
// same transaction that creates the session, so one token opens one session at most.
import { hashToken, randomToken } from '../../core/crypto/random.ts';
import type { DB } from '../../core/db/database.ts';

export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes one mfa_token allows; the account's second-factor lockout bounds them too. */
export const MFA_TOKEN_MAX_ATTEMPTS = 5;
const MFA_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Expired rows removed per new challenge: more than are made, so the table cannot grow. */
const PURGE_BATCH = 100;

export interface NewMfaChallenge {
  readonly userId: string;
  /** What the user proved so far (`pwd`). */
  readonly amr: readonly string[];
  /** The second-factor lockout counter this login draws on (device-tokens.ts). */
  readonly lockoutSubject: string;
  readonly deviceId: string | null;
  readonly webauthnChallengeHash: string | null;
  readonly now: Date;
}

export interface MfaChallenge {
  readonly tokenHash: string;
  readonly userId: string;
  readonly amr: readonly string[];
  readonly lockoutSubject: string;
  readonly deviceId: string | null;
  readonly webauthnChallengeHash: string | null;
}

/** Stores a challenge and returns its token (the only time it exists in clear). */
export async function createMfaChallenge(trx: DB, challenge: NewMfaChallenge): Promise<string> {
  const token = randomToken(32);
  // Expired challenges go as new ones come: the table stays as small as the last five
  // minutes' correct passwords of accounts with a second factor. A bounded batch, skipping
  // rows a concurrent login is deleting, so two logins never wait on (or deadlock over)
  // each other's cleanup.
  await trx
    .deleteFrom('mfa_challenges')
    .where('token_hash', 'in', (eb) =>
      eb.selectFrom('mfa_challenges').select('token_hash').where('expires_at', '<=', challenge.now).limit(PURGE_BATCH).forUpdate().skipLocked(),
    )
    .execute();
  await trx
    .insertInto('mfa_challenges')
    .values({
      token_hash: hashToken(token),
      user_id: challenge.userId,
      amr: [...challenge.amr],
      lockout_subject: challenge.lockoutSubject,
      device_id: challenge.deviceId,
      webauthn_challenge_hash: challenge.webauthnChallengeHash,
      created_at: challenge.now,
      expires_at: new Date(challenge.now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000),
      used_at: null,
    })
    .execute();
  return token;
}

/**
 * Counts one attempt with `token` and returns its challenge; null when the token is not
 * one of ours, is used, expired, or has no attempts left. On the service's connection,
 * outside the attempt's transaction, so a failed attempt stays counted.
 */
export async function countMfaAttempt(db: DB, token: string, now: Date): Promise<MfaChallenge | null> {
  if (!MFA_TOKEN_PATTERN.test(token)) return null;
  const row = await db
    .updateTable('mfa_challenges')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('token_hash', '=', hashToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where('attempts', '<', MFA_TOKEN_MAX_ATTEMPTS)
    .returning(['token_hash', 'user_id', 'amr', 'lockout_subject', 'device_id', 'webauthn_challenge_hash'])
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    amr: row.amr,
    lockoutSubject: row.lockout_subject,
    deviceId: row.device_id,
    webauthnChallengeHash: row.webauthn_challenge_hash,
  };
}

/** Marks the challenge used: true for exactly one caller, in the transaction that opens the session. */
export async function spendMfaChallenge(trx: DB, tokenHash: string, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('mfa_challenges')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
