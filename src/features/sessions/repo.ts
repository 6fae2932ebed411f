// Sessions and their refresh tokens. A refresh token is 256 bits behind a `ghr_` prefix
// (so secret scanners recognise leaked ones): random at login, then each successor an
// HMAC of its predecessor (successor.ts). Tokens are stored only as SHA-256 and used
// once: rotation marks a token used in the same statement that checks it was unused, so
// of any number of concurrent presentations exactly one rotates; within the reuse
// interval the others get the same successor back, after it they end the session.
import { sql } from 'kysely';
import { hashToken, randomToken } from '../../core/crypto/random.ts';
import { uuidv7 } from '../../core/crypto/ids.ts';
import type { DB } from '../../core/db/database.ts';
import { loadDataKeyToSeal } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { openDevices, sealDevice } from './device.ts';
import type { RefreshRotation } from './successor.ts';

export const REFRESH_TOKEN_PREFIX = 'ghr_';
const REFRESH_TOKEN_PATTERN = /^ghr_[A-Za-z0-9_-]{43}$/;
const USER_AGENT_MAX = 256;

export interface SessionLifetimes {
  /** Seconds without a refresh before the session ends. */
  readonly idleTtl: number;
  /** Seconds from login after which the session ends regardless. */
  readonly maxAge: number;
}

export interface NewSession {
  readonly userId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** How the user signed in, for people: `password`, `password+totp`, `passkey`, ... */
  readonly authMethod: string;
  /** The same for machines: RFC 8176 method references. */
  readonly amr: readonly string[];
  readonly now: Date;
}

/** How a session was authenticated, and when last (login or re-authentication). */
export interface SessionAuthentication {
  readonly amr: readonly string[];
  readonly authTime: Date;
}

export interface SessionView {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly authMethod: string;
  readonly amr: readonly string[];
  readonly authTime: Date;
}

export type RotationResult =
  /** `retried`: the token was rotated moments ago (within the reuse interval) into the current one, returned again. */
  | {
      readonly kind: 'rotated' | 'retried';
      readonly sessionId: string;
      readonly userId: string;
      readonly refreshToken: string;
      readonly roles: readonly string[];
      readonly authentication: SessionAuthentication;
    }
  /** A used token came back: whoever holds it, the family is compromised. */
  | { readonly kind: 'reused'; readonly sessionId: string; readonly userId: string }
  | { readonly kind: 'invalid' };

function addSeconds(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

function newRefreshToken(): string {
  return `${REFRESH_TOKEN_PREFIX}${randomToken(32)}`;
}

export function isWellFormedRefreshToken(token: string): boolean {
  return REFRESH_TOKEN_PATTERN.test(token);
}

/** Creates a session and its first refresh token, in one statement. */
export async function createSession(
  trx: DB,
  lifetimes: SessionLifetimes,
  session: NewSession,
  keyring: Keyring,
): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = uuidv7(session.now.getTime());
  // The device data is sealed under the owner's key (device.ts); an owner without one (never
  // the case for an account that can sign in) keeps none.
  const dek = await loadDataKeyToSeal(trx, keyring, session.userId);
  const userAgent = session.userAgent === null ? null : session.userAgent.slice(0, USER_AGENT_MAX);
  const device = dek === null ? { ip_sealed: null, user_agent_sealed: null } : sealDevice(dek, sessionId, { ip: session.ip, userAgent });
  dek?.fill(0);
  const expiresAt = addSeconds(session.now, lifetimes.maxAge);
  const refreshToken = newRefreshToken();
  // The token row references the session row inserted by the WITH clause of the same
  // statement; the foreign key is checked when the statement ends, and sees it.
  await trx
    .with('session', (qc) =>
      qc
        .insertInto('sessions')
        .values({
          id: sessionId,
          user_id: session.userId,
          created_at: session.now,
          last_used_at: session.now,
          idle_expires_at: new Date(Math.min(addSeconds(session.now, lifetimes.idleTtl).getTime(), expiresAt.getTime())),
          expires_at: expiresAt,
          ...device,
          auth_method: session.authMethod,
          amr: [...session.amr],
          auth_time: session.now,
        })
        .returning('id'),
    )
    .insertInto('refresh_tokens')
    .values({ token_hash: hashToken(refreshToken), session_id: sessionId, created_at: session.now })
    .execute();
  return { sessionId, refreshToken };
}

/**
 * Rotates a refresh token in one call (`rotate_refresh_token`, migration 0009): one round
 * trip and one implicit transaction that claims the token if unused (the single-use
 * check), extends the live session, stores the successor's hash and reads the roles; or,
 * for a token spent within the reuse interval whose successor is still current, reports
 * a retry so the same successor is returned again.
 */
export async function rotateRefreshToken(
  db: DB,
  policy: { readonly lifetimes: SessionLifetimes; readonly rotation: RefreshRotation },
  token: string,
  now: Date,
): Promise<RotationResult> {
  if (!isWellFormedRefreshToken(token)) return { kind: 'invalid' };
  const successor = policy.rotation.successorOf(token);
  const result = await sql<{ kind: string; session_id: string | null; user_id: string | null; roles: string[] | null; amr: string[] | null; auth_time: Date | null }>`
    SELECT kind, session_id, user_id, roles, amr, auth_time FROM rotate_refresh_token_with_auth(
      ${hashToken(token)}::text, ${hashToken(successor)}::text, ${now}::timestamptz,
      ${addSeconds(now, policy.lifetimes.idleTtl)}::timestamptz, ${policy.rotation.reuseIntervalSeconds}::integer)`.execute(db);
  const row = result.rows[0];
  if (row === undefined || row.session_id === null || row.user_id === null) return { kind: 'invalid' };
  if (row.kind === 'reused') return { kind: 'reused', sessionId: row.session_id, userId: row.user_id };
  if ((row.kind !== 'rotated' && row.kind !== 'retried') || row.roles === null || row.amr === null || row.auth_time === null) return { kind: 'invalid' };
  return {
    kind: row.kind,
    sessionId: row.session_id,
    userId: row.user_id,
    refreshToken: successor,
    roles: row.roles,
    authentication: { amr: row.amr, authTime: new Date(row.auth_time) },
  };
}

/** The session a refresh token belongs to, used or not (a browser's CSRF token is bound to it); null if none. */
export async function sessionOfRefreshToken(db: DB, token: string): Promise<string | null> {
  if (!isWellFormedRefreshToken(token)) return null;
  const row = await db.selectFrom('refresh_tokens').select('session_id').where('token_hash', '=', hashToken(token)).executeTakeFirst();
  return row?.session_id ?? null;
}

/**
 * How a live session was authenticated, or null when it is not live: revoked, past either
 * lifetime, or its user disabled.
 */
export async function liveSessionAuthentication(db: DB, sessionId: string, now: Date): Promise<SessionAuthentication | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.amr', 'sessions.auth_time'])
    .where('sessions.id', '=', sessionId)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.idle_expires_at', '>', now)
    .where('sessions.expires_at', '>', now)
    .where('users.status', '=', 'active')
    .executeTakeFirst();
  return row === undefined ? null : { amr: row.amr, authTime: new Date(row.auth_time) };
}

/**
 * Re-authentication: the user proved who they are again in this session. `auth_time`
 * moves to now and the methods used join the session's (a password session whose user
 * also gave a second factor becomes a second-factor session). False when the session is
 * not this user's live one.
 */
export async function recordReauthentication(trx: DB, target: { userId: string; sessionId: string }, amr: readonly string[], now: Date): Promise<boolean> {
  return mergeSessionMethods(trx, target, amr, { authTime: now });
}

/**
 * The account's first second factor, proved in this session as it was enrolled: the
 * session becomes a second-factor one (an admin who had to enrol can administer), and its
 * authentication time stays as it was, since no factor the account already had was proved.
 */
export async function addFirstFactorToSession(trx: DB, target: { userId: string; sessionId: string }, amr: readonly string[]): Promise<boolean> {
  return mergeSessionMethods(trx, target, amr, {});
}

async function mergeSessionMethods(trx: DB, target: { userId: string; sessionId: string }, amr: readonly string[], options: { readonly authTime?: Date }): Promise<boolean> {
  const row = await trx
    .selectFrom('sessions')
    .select('amr')
    .where('id', '=', target.sessionId)
    .where('user_id', '=', target.userId)
    .where('revoked_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (row === undefined) return false;
  const merged = [...new Set([...row.amr, ...amr])].sort();
  await trx
    .updateTable('sessions')
    .set({ amr: merged, ...(options.authTime === undefined ? {} : { auth_time: options.authTime }) })
    .where('id', '=', target.sessionId)
    .execute();
  return true;
}

/** Revokes one session of a user; false when it is not theirs or already ended. */
export async function revokeSession(trx: DB, userId: string, sessionId: string, reason: string, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Revokes every live session of a user, except one if given; returns the ids revoked.
 * Logins half done (a correct password waiting for its second factor) go too: a password
 * change, a reset or "sign out everywhere" must not leave a relay holding an mfa_token a
 * way back in.
 */
export async function revokeUserSessions(trx: DB, userId: string, reason: string, now: Date, options: { except?: string } = {}): Promise<string[]> {
  await trx.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  let query = trx
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (options.except !== undefined) query = query.where('id', '!=', options.except);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

/** Whose sessions a bulk revocation ends: everyone's, a role's holders', or the users named. */
export type SessionOwners = { readonly kind: 'all' } | { readonly kind: 'role'; readonly role: string } | { readonly kind: 'users'; readonly ids: readonly string[] };

export interface RevokedSession {
  readonly id: string;
  readonly userId: string;
}

/** The user ids `owners` names, as a subquery or a list (null: everyone). */
function ownerIds(db: DB, owners: SessionOwners) {
  switch (owners.kind) {
    case 'all':
      return null;
    case 'role':
      return db.selectFrom('user_roles').select('user_roles.user_id').where('user_roles.role', '=', owners.role);
    case 'users':
      return [...owners.ids];
  }
}

/**
 * The bulk form of revokeUserSessions, for incident containment: ends up to `limit` live
 * sessions of `owners` in one statement (rows locked, skipping none: a concurrent
 * revocation of the same row waits and then finds it revoked), and drops the owners'
 * half-done logins the same way revokeUserSessions does. Called again until it returns
 * fewer than `limit`, it ends them all, a batch per transaction.
 */
export async function revokeSessionsOf(trx: DB, owners: SessionOwners, reason: string, now: Date, options: { readonly except?: string; readonly limit: number }): Promise<RevokedSession[]> {
  if (owners.kind === 'users' && owners.ids.length === 0) return [];
  const ids = ownerIds(trx, owners);
  await (ids === null ? trx.deleteFrom('mfa_challenges') : trx.deleteFrom('mfa_challenges').where('user_id', 'in', ids)).execute();
  let live = trx.selectFrom('sessions').select('sessions.id').where('revoked_at', 'is', null).where('expires_at', '>', now).where('idle_expires_at', '>', now);
  if (ids !== null) live = live.where('user_id', 'in', ids);
  if (options.except !== undefined) live = live.where('sessions.id', '!=', options.except);
  const rows = await trx
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', 'in', live.orderBy('sessions.id').limit(options.limit).forUpdate())
    .returning(['id', 'user_id'])
    .execute();
  return rows.map((row) => ({ id: row.id, userId: row.user_id }));
}

export async function listActiveSessions(db: DB, keyring: Keyring, userId: string, now: Date): Promise<SessionView[]> {
  const rows = await db
    .selectFrom('sessions')
    .leftJoin('data_keys', 'data_keys.owner_id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.user_id', 'sessions.created_at', 'last_used_at', 'ip_sealed', 'user_agent_sealed', 'auth_method', 'amr', 'auth_time', 'data_keys.wrapped_key'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('expires_at', '>', now)
    .orderBy('sessions.created_at', 'desc')
    .limit(200)
    .execute();
  const devices = openDevices(keyring, rows);
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    ip: devices.get(row.id)?.ip ?? null,
    userAgent: devices.get(row.id)?.userAgent ?? null,
    authMethod: row.auth_method,
    amr: row.amr,
    authTime: new Date(row.auth_time),
  }));
}
