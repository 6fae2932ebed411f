// The signing-key lifecycle in the database: next (published, not yet signing) ->
// active (signing, exactly one) -> retired (published until every token it can have
// signed has expired) -> deleted. Any of the first three can instead become revoked
// (`retireSigningKeyNow`, for a leaked key): withdrawn at once, and for good.
//
// Publishing the next key one rotation ahead is what lets relying parties that cache the
// JWKS (max-age 300) already hold the key that becomes active. Writes are serialized by
// one transaction-scoped advisory lock, so instances starting or rotating together never
// create two active keys or a pile of next keys. Each function joins the caller's
// transaction when given one (for example to record the rotation in the audit trail).
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { Schema, SigningKeyState } from '../../core/db/schema.ts';
import { SigningKeyError } from './errors.ts';
import { assertAccessTokenTTL, CLOCK_TOLERANCE_SECONDS, MAX_SIGNING_STATE_AGE_MS } from './limits.ts';
import {
  generateSigningKey,
  parsePublicJWK,
  SIGNING_ALGORITHM,
  unwrapSigningKey,
  type PublicSigningJWK,
} from './signing-key-material.ts';

// Any fixed 64-bit number shared by every instance, distinct from the other locks
// (migrations 7_201_445_118_032, audit chain 4_812_903_337_561).
export const SIGNING_KEYS_LOCK_ID = 5_530_172_604_489;

export interface SigningKeyDeps {
  readonly keyring: Keyring;
  readonly clock: Clock;
}

export interface RotateSigningKeysDeps extends SigningKeyDeps {
  readonly accessTokenTtlSeconds: number;
}

export interface SigningKeyIds {
  readonly activeKid: string;
  readonly nextKid: string;
}

export interface RotatedSigningKeys extends SigningKeyIds {
  readonly retiredKid: string;
}

export interface SigningState {
  readonly activeKid: string;
  readonly privateKey: KeyObject;
  /** Active first, then next, then retired keys still inside their publication window. */
  readonly jwks: readonly PublicSigningJWK[];
}

// The keys that may verify a token at `now`: never a revoked one, nor a retired one past its window.
function trustedAt(now: Date) {
  return (eb: ExpressionBuilder<Schema, 'signing_keys'>) =>
    eb.or([eb('state', 'in', ['active', 'next']), eb.and([eb('state', '=', 'retired'), eb('publish_until', '>', now)])]);
}

async function inTransaction<T>(db: DB, fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

async function lockSigningKeys(trx: Kysely<Schema>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK_ID}::bigint)`.execute(trx);
}

async function insertSigningKey(trx: Kysely<Schema>, deps: SigningKeyDeps, state: 'active' | 'next'): Promise<string> {
  const key = generateSigningKey(deps.keyring);
  const now = deps.clock();
  await trx
    .insertInto('signing_keys')
    .values({
      kid: key.kid,
      algorithm: SIGNING_ALGORITHM,
      public_jwk: JSON.stringify(key.publicJWK),
      master_key_id: key.masterKeyId,
      wrapped_private_key: key.wrappedPrivateKey,
      state,
      created_at: now,
      activated_at: state === 'active' ? now : null,
    })
    .execute();
  return key.kid;
}

async function promoteNext(trx: Kysely<Schema>, kid: string, now: Date): Promise<void> {
  await trx
    .updateTable('signing_keys')
    .set({ state: 'active', activated_at: now })
    .where('kid', '=', kid)
    .where('state', '=', 'next')
    .execute();
}

async function readLiveKids(trx: Kysely<Schema>): Promise<{ active: string | null; next: string | null }> {
  const rows = await trx
    .selectFrom('signing_keys')
    .select(['kid', 'state'])
    .where('state', 'in', ['active', 'next'])
    // The oldest next key has been published longest, so relying parties most likely hold it.
    .orderBy('created_at', 'asc')
    .orderBy('kid', 'asc')
    .execute();
  const first = (state: SigningKeyState): string | null => rows.find((row) => row.state === state)?.kid ?? null;
  return { active: first('active'), next: first('next') };
}

// Under the lock: fills in whatever is missing, promoting a lone next key rather than
// activating a key nobody has seen published.
async function ensureLocked(trx: Kysely<Schema>, deps: SigningKeyDeps): Promise<SigningKeyIds> {
  let { active, next } = await readLiveKids(trx);
  if (active === null && next !== null) {
    await promoteNext(trx, next, deps.clock());
    [active, next] = [next, null];
  }
  active ??= await insertSigningKey(trx, deps, 'active');
  next ??= await insertSigningKey(trx, deps, 'next');
  return { activeKid: active, nextKid: next };
}

/** Creates the active and next keys if missing; a no-op when both exist. Safe to race. */
export async function ensureSigningKeys(db: DB, deps: SigningKeyDeps): Promise<SigningKeyIds> {
  return inTransaction(db, async (trx) => {
    await lockSigningKeys(trx);
    return ensureLocked(trx, deps);
  });
}

/**
 * next -> active, active -> retired, and a new next key. The retired key stays published
 * until every token it can have signed has expired: tokens live `accessTokenTtlSeconds`,
 * verifiers tolerate CLOCK_TOLERANCE_SECONDS of skew, and an instance that loaded the
 * keys just before this rotation may go on signing with the old key for up to
 * MAX_SIGNING_STATE_AGE_MS. Retired keys past their window are deleted here, so private
 * keys that can no longer matter do not linger at rest.
 */
export async function rotateSigningKeys(db: DB, deps: RotateSigningKeysDeps): Promise<RotatedSigningKeys> {
  assertAccessTokenTTL(deps.accessTokenTtlSeconds);
  return inTransaction(db, async (trx) => {
    await lockSigningKeys(trx);
    const { activeKid: retiredKid, nextKid: activeKid } = await ensureLocked(trx, deps);
    const now = deps.clock();
    const windowMs = (deps.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000 + MAX_SIGNING_STATE_AGE_MS;
    // Retire first: the unique index allows one active key at any moment.
    await trx
      .updateTable('signing_keys')
      .set({ state: 'retired', retired_at: now, publish_until: new Date(now.getTime() + windowMs) })
      .where('kid', '=', retiredKid)
      .where('state', '=', 'active')
      .execute();
    await promoteNext(trx, activeKid, now);
    const nextKid = await insertSigningKey(trx, deps, 'next');
    await trx.deleteFrom('signing_keys').where('state', '=', 'retired').where('publish_until', '<=', now).execute();
    return { activeKid, nextKid, retiredKid };
  });
}

export type RetiredSigningKey =
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'already_retired'; readonly revokedAt: Date }
  | ({ readonly outcome: 'retired'; readonly previousState: Exclude<SigningKeyState, 'revoked'> } & SigningKeyIds);

/**
 * Withdraws `kid` at once, for a key that leaked: it becomes `revoked`, so it is no longer
 * published and no token signed by it verifies again, whatever its expiry. If it was the
 * active key, the next key (published a rotation ago, and never loaded into any process's
 * memory as a signing key) becomes active now and a new next key is made, so signing goes
 * on; a revoked next key is replaced likewise. Idempotent: a revoked key is reported as
 * such and left alone. Runs in the caller's transaction (the change that audits it).
 */
export async function retireSigningKeyNow(trx: Kysely<Schema>, deps: SigningKeyDeps, kid: string): Promise<RetiredSigningKey> {
  await lockSigningKeys(trx);
  const row = await trx.selectFrom('signing_keys').select(['state', 'revoked_at']).where('kid', '=', kid).executeTakeFirst();
  if (row === undefined) return { outcome: 'not_found' };
  if (row.state === 'revoked') return { outcome: 'already_retired', revokedAt: new Date(row.revoked_at ?? 0) };
  await trx
    .updateTable('signing_keys')
    .set({ state: 'revoked', revoked_at: deps.clock(), publish_until: null })
    .where('kid', '=', kid)
    .execute();
  const ids = await ensureLocked(trx, deps);
  return { outcome: 'retired', previousState: row.state, ...ids };
}

/**
 * How many of `kids` may still verify a token now (next, active, or retired inside its
 * publication window). The cheap check behind `SigningKeySource.withdrawn()`: a tiny
 * table, one indexed lookup per kid, no private key unwrapped.
 */
export async function countTrustedSigningKeys(db: DB, kids: readonly string[], now: Date): Promise<number> {
  if (kids.length === 0) return 0;
  const row = await db
    .selectFrom('signing_keys')
    .select((eb) => eb.fn.countAll<string>().as('trusted'))
    .where('kid', 'in', kids)
    .where(trustedAt(now))
    .executeTakeFirstOrThrow();
  return Number(row.trusted);
}

const STATE_ORDER: Readonly<Record<SigningKeyState, number>> = { active: 0, next: 1, retired: 2, revoked: 3 };

/** The active private key and the keys to publish; throws if there is no usable active key. */
export async function loadSigningState(db: DB, keyring: Keyring, clock: Clock): Promise<SigningState> {
  const now = clock();
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'state', 'algorithm', 'public_jwk', 'wrapped_private_key'])
    .where(trustedAt(now))
    .orderBy('created_at', 'desc')
    .execute();
  rows.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);

  const jwks: PublicSigningJWK[] = [];
  let active: { kid: string; privateKey: KeyObject } | null = null;
  for (const row of rows) {
    const jwk = row.algorithm === SIGNING_ALGORITHM ? parsePublicJWK(row.kid, row.public_jwk) : null;
    if (jwk === null) {
      if (row.state === 'active') throw new SigningKeyError('corrupt_key', `active key ${row.kid} has an unusable public key`);
      continue;
    }
    if (row.state === 'active') active = { kid: row.kid, privateKey: unwrapSigningKey(keyring, jwk, row.wrapped_private_key) };
    jwks.push(jwk);
  }
  if (active === null) throw new SigningKeyError('no_active_key', 'no active signing key: run ensureSigningKeys at start-up');
  return { activeKid: active.kid, privateKey: active.privateKey, jwks };
}
