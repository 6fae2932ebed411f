// Test fixtures for tokens: a clock that moves only when told, a fresh master keyring,
// a database opened once per engine with empty signing keys per test, and helpers to
// hand-craft tokens the way an attacker would.
import { randomBytes, type KeyObject } from 'node:crypto';
import { after, before } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { Kysely, KyselyPlugin } from 'kysely';
import type { TestDatabase, TestEngine } from '../../../test/helpers/database.ts';
import type { Clock } from '../../core/clock.ts';
import { createKeyring, type Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { Schema } from '../../core/db/schema.ts';
import { registerErrorHandling } from '../../core/http/errors.ts';
import { enforceRoutePolicy } from '../../core/http/route-policy.ts';
import { isPermission } from '../authorization/permissions.ts';
import { createAccessTokens, type AccessTokens } from './access-tokens.ts';
import { jwksRoutes } from './jwks-routes.ts';
import { createSigningKeySource, type SigningKeySource } from './signing-key-source.ts';
import { ensureSigningKeys, retireSigningKeyNow, type RetiredSigningKey, type SigningKeyIds } from './signing-keys.ts';

export const ISSUER = 'https://id.gatehouse.test';
export const AUDIENCE = 'https://api.gatehouse.test';
export const TTL_SECONDS = 900;
export const REFRESH_MS = 30_000;

export interface TestClock {
  readonly clock: Clock;
  advance(seconds: number): void;
  /** Whole seconds since the epoch, as JWT claims count time. */
  seconds(): number;
}

export function testClock(start = Date.UTC(2030, 0, 2, 3, 4, 5)): TestClock {
  let now = start;
  return {
    clock: () => new Date(now),
    advance(seconds) {
      now += seconds * 1000;
    },
    seconds: () => Math.floor(now / 1000),
  };
}

export function testKeyring(id = 'k1'): Keyring {
  return createKeyring([{ id, key: randomBytes(32) }]);
}

/** Opens the engine's database once for the enclosing describe; returns a getter. */
export function useDatabase(engine: TestEngine): () => TestDatabase {
  let test: TestDatabase | null = null;
  before(async () => {
    test = await engine.open();
  });
  after(async () => {
    await test?.cleanup();
  });
  return () => {
    if (test === null) throw new Error('the database is not open yet');
    return test;
  };
}

export interface TokenWorld {
  readonly db: DB;
  readonly time: TestClock;
  readonly keyring: Keyring;
  readonly source: SigningKeySource;
  readonly tokens: AccessTokens;
  readonly kids: SigningKeyIds;
}

/** Empty signing keys, then a bootstrap, a key source and a token service over them. */
export async function createTokenWorld(db: DB, time: TestClock = testClock()): Promise<TokenWorld> {
  await db.deleteFrom('signing_keys').execute();
  const keyring = testKeyring();
  const kids = await ensureSigningKeys(db, { keyring, clock: time.clock });
  const source = createSigningKeySource(db, { keyring, clock: time.clock, refreshMs: REFRESH_MS });
  return { db, time, keyring, source, kids, tokens: tokensFor(source, time) };
}

/** `keys retire-signing KID --now` on the world's database, at the world's time. */
export function retire(world: TokenWorld, kid: string): Promise<RetiredSigningKey> {
  return world.db.transaction().execute((trx) => retireSigningKeyNow(trx, { keyring: world.keyring, clock: world.time.clock }, kid));
}

/** Another instance: its own key source and token service over the same database. */
export function tokensFor(source: SigningKeySource, time: TestClock): AccessTokens {
  return createAccessTokens({ issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL_SECONDS, clock: time.clock, keys: source });
}

export function claimsAt(time: TestClock, overrides: JWTPayload = {}): JWTPayload {
  const iat = time.seconds();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'session-1',
    jti: randomBytes(16).toString('base64url'),
    roles: ['member'],
    iat,
    exp: iat + TTL_SECONDS,
    ...overrides,
  };
}

export async function signToken(key: KeyObject | Uint8Array, header: JWTHeaderParameters, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

/** A token signed with the active key, as this server would, with chosen header and claims. */
export async function signAsServer(world: TokenWorld, claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  const { kid, privateKey } = await world.source.current();
  return signToken(privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid, ...header }, claims);
}

export function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface QueryCounter {
  readonly db: Kysely<Schema>;
  count(): number;
  /** While set, every query fails as if the database were unreachable. */
  failing: boolean;
}

/** The same database, counting (and on demand failing) every query made through it. */
export function countQueries(db: Kysely<Schema>): QueryCounter {
  let queries = 0;
  const counter = { failing: false } as { failing: boolean };
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      queries += 1;
      if (counter.failing) throw new Error('connection refused (simulated)');
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  return Object.assign(counter, { db: db.withPlugin(plugin), count: () => queries });
}

/** The JWKS route alone, under the same route policy and error handling as the server. */
export async function startJWKSApp(keys: SigningKeySource): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  enforceRoutePolicy(app, { isPermission });
  registerErrorHandling(app);
  await app.register(jwksRoutes, { keys });
  await app.ready();
  return app;
}
