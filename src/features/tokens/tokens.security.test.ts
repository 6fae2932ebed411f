// Attacks on access tokens and signing keys, each named after what it tries. Every token
// here is hand-made the way an attacker would make it; every key is generated here.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exportJWK } from 'jose';
import { testEngines } from '../../../test/helpers/database.ts';
import { CryptoError } from '../../core/crypto/keyring.ts';
import { openDatabase } from '../../core/db/database.ts';
import type { AccessClaims } from './access-claims.ts';
import { createAccessTokens } from './access-tokens.ts';
import { JWKS_PATH } from './jwks-routes.ts';
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_LENGTH } from './limits.ts';
import { signingKeyAAD, type PublicSigningJWK } from './signing-key-material.ts';
import { createSigningKeySource, type SigningKeySource } from './signing-key-source.ts';
import { ensureSigningKeys, loadSigningState, rotateSigningKeys } from './signing-keys.ts';
import { createVerifiedTokenCache } from './verified-token-cache.ts';
import {
  AUDIENCE,
  claimsAt,
  countQueries,
  createTokenWorld,
  decodeSegment,
  encodeSegment,
  ISSUER,
  REFRESH_MS,
  signAsServer,
  signToken,
  startJWKSApp,
  testClock,
  testKeyring,
  tokensFor,
  TTL_SECONDS,
  useDatabase,
  type TokenWorld,
} from './tokens.fixtures.ts';

const SUBJECT = { sub: 'user-1', sid: 'session-1', roles: ['member'], amr: ['pwd'], authTime: new Date('2026-01-01T00:00:00Z') } as const;

function createPrivateKeyFromDER(der: Buffer): KeyObject {
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

function withoutClaim(world: TokenWorld, claim: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claimsAt(world.time)).filter(([name]) => name !== claim));
}

for (const engine of testEngines()) {
  describe(`token attacks on ${engine.engine}`, () => {
    const database = useDatabase(engine);

    describe('access tokens', () => {
      const world = async (): Promise<TokenWorld> => createTokenWorld(database().database.db);

      it('an expired token is refused once past exp plus the 60 s skew', async () => {
        const w = await world();
        const { token } = await w.tokens.issue(SUBJECT);
        w.time.advance(TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + 1);
        assert.equal(await tokensFor(w.source, w.time).verify(token), null);
      });

      it('a token within the 60 s skew after exp is still accepted', async () => {
        const w = await world();
        const { token } = await w.tokens.issue(SUBJECT);
        w.time.advance(TTL_SECONDS + CLOCK_TOLERANCE_SECONDS - 1);
        assert.equal((await tokensFor(w.source, w.time).verify(token))?.sub, SUBJECT.sub);
      });

      it('a token for another audience is refused', async () => {
        const w = await world();
        const token = await signAsServer(w, claimsAt(w.time, { aud: 'https://other-api.test' }));
        assert.equal(await w.tokens.verify(token), null);
      });

      it('a token from another issuer is refused', async () => {
        const w = await world();
        const token = await signAsServer(w, claimsAt(w.time, { iss: 'https://evil.test' }));
        assert.equal(await w.tokens.verify(token), null);
      });

      it('a tampered payload (roles escalated, signature kept) is refused', async () => {
        const w = await world();
        const { token } = await w.tokens.issue(SUBJECT);
        const [header = '', payload = '', signature = ''] = token.split('.');
        const escalated = encodeSegment({ ...decodeSegment(payload), roles: ['admin'] });
        assert.equal(await w.tokens.verify(`${header}.${escalated}.${signature}`), null);
      });

      // "none" and HS256 are refused by jose itself too ("none" is never verified, an HMAC
      // needs a secret key, not our Ed25519 one), so these pass even without the
      // `algorithms` allowlist; the test after them is the one that needs it.
      it('an unsigned alg "none" token is refused', async () => {
        const w = await world();
        const { kid } = await w.source.current();
        const { token: genuine } = await w.tokens.issue(SUBJECT);
        const claims = encodeSegment(claimsAt(w.time, { roles: ['admin'] }));
        for (const alg of ['none', 'None', 'NONE']) {
          const header = encodeSegment({ alg, typ: 'at+jwt', kid });
          assert.equal(await w.tokens.verify(`${header}.${claims}.`), null, alg);
          assert.equal(await w.tokens.verify(`${header}.${claims}.${genuine.split('.')[2] ?? ''}`), null, alg);
        }
      });

      it('an HS256 token keyed with our public key bytes (key confusion) is refused', async () => {
        const w = await world();
        const { kid } = await w.source.current();
        const jwk = (await w.source.jwks()).keys.find((key) => key.kid === kid)!;
        const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
        const secrets = [
          Buffer.from(jwk.x, 'base64url'),
          Buffer.from(publicKey.export({ format: 'pem', type: 'spki' })),
          publicKey.export({ format: 'der', type: 'spki' }),
          Buffer.from(JSON.stringify(jwk)),
        ];
        for (const secret of secrets) {
          const token = await signToken(secret, { alg: 'HS256', typ: 'at+jwt', kid }, claimsAt(w.time));
          assert.equal(await w.tokens.verify(token), null);
        }
      });

      it('our own key under another algorithm name (alg "Ed25519", which jose would verify with it) is refused: only EdDSA is allowlisted', async () => {
        const w = await world();
        const { kid, privateKey } = await w.source.current();
        const control = await signToken(privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid }, claimsAt(w.time));
        assert.notEqual(await w.tokens.verify(control), null, 'control: the same claims and key under EdDSA are accepted');
        const renamed = await signToken(privateKey, { alg: 'Ed25519', typ: 'at+jwt', kid }, claimsAt(w.time));
        assert.equal(await w.tokens.verify(renamed), null);
      });

      it('RS256 and ES256 tokens from an attacker key, under our kid or with the key embedded, are refused', async () => {
        const w = await world();
        const { kid } = await w.source.current();
        const attackers = [
          { alg: 'RS256', keys: generateKeyPairSync('rsa', { modulusLength: 2048 }) },
          { alg: 'ES256', keys: generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
          { alg: 'EdDSA', keys: generateKeyPairSync('ed25519') },
        ];
        for (const { alg, keys } of attackers) {
          const embedded = await exportJWK(keys.publicKey);
          for (const header of [{ kid }, { kid, jwk: embedded }, { jwk: embedded }]) {
            const token = await signToken(keys.privateKey, { alg, typ: 'at+jwt', ...header }, claimsAt(w.time));
            assert.equal(await w.tokens.verify(token), null, `${alg} ${JSON.stringify(Object.keys(header))}`);
          }
        }
      });

      it('a token naming an unknown kid is refused', async () => {
        const w = await world();
        const attacker = generateKeyPairSync('ed25519');
        // The attacker also offers its own key, in case an unknown kid makes us look elsewhere.
        const jwk = await exportJWK(attacker.publicKey);
        for (const kid of [randomBytes(16).toString('base64url'), '../../etc/passwd', '', 'x'.repeat(300)]) {
          const token = await signToken(attacker.privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid, jwk }, claimsAt(w.time));
          assert.equal(await w.tokens.verify(token), null);
        }
      });

      it('a flood of unknown kids reloads the keys at most once per interval', async () => {
        const w = await world();
        const counter = countQueries(w.db);
        const source = createSigningKeySource(counter.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS, unknownKidReloadMs: 5_000 });
        const tokens = tokensFor(source, w.time);
        const attacker = generateKeyPairSync('ed25519');
        await source.current();
        const loads = counter.count();
        for (let n = 0; n < 30; n += 1) {
          const kid = randomBytes(16).toString('base64url');
          const token = await signToken(attacker.privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid }, claimsAt(w.time));
          assert.equal(await tokens.verify(token), null);
        }
        assert.equal(counter.count() - loads, 1);
        w.time.advance(5);
        await source.publicKey(randomBytes(16).toString('base64url'));
        assert.equal(counter.count() - loads, 2);
      });

      it('a token without typ, or typed plain "JWT" (an ID token or other JWT), is refused', async () => {
        const w = await world();
        const { kid, privateKey } = await w.source.current();
        for (const header of [{ alg: 'EdDSA', kid }, { alg: 'EdDSA', kid, typ: 'JWT' }, { alg: 'EdDSA', kid, typ: 'id_token+jwt' }]) {
          const token = await signToken(privateKey, header, claimsAt(w.time));
          assert.equal(await w.tokens.verify(token), null, JSON.stringify(header));
        }
      });

      it('a token missing its sid is refused', async () => {
        const w = await world();
        assert.equal(await w.tokens.verify(await signAsServer(w, withoutClaim(w, 'sid'))), null);
      });

      it('a token missing its jti is refused', async () => {
        const w = await world();
        assert.equal(await w.tokens.verify(await signAsServer(w, withoutClaim(w, 'jti'))), null);
      });

      it('a token with an exp far beyond our lifetime (minted with a stolen key for later) is refused', async () => {
        const w = await world();
        const iat = w.time.seconds();
        const longLived = await signAsServer(w, claimsAt(w.time, { exp: iat + 365 * 86_400 }));
        w.time.advance(TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + 1);
        assert.equal(await tokensFor(w.source, w.time).verify(longLived), null);
        const future = await signAsServer(w, claimsAt(w.time, { iat: w.time.seconds() + 3600, exp: w.time.seconds() + 3600 + TTL_SECONDS }));
        assert.equal(await w.tokens.verify(future), null);
      });

      it('a token over 4 KiB is refused before parsing, even if validly signed', async () => {
        const w = await world();
        const roles = Array.from({ length: 60 }, (_, n) => `role-${n}-${'r'.repeat(50)}`);
        const token = await signAsServer(w, claimsAt(w.time, { roles }));
        assert.ok(token.length > MAX_ACCESS_TOKEN_LENGTH);
        assert.equal(await w.tokens.verify(token), null);
        await assert.rejects(w.tokens.issue({ ...SUBJECT, roles }), RangeError);
      });

      it('garbage strings are refused without throwing', async () => {
        const w = await world();
        const { token } = await w.tokens.issue(SUBJECT);
        const samples = ['', '.', '..', '...', 'a.b.c', `Bearer ${token}`, `${token}.`, ` ${token}`, token.replace(/\./g, ''), '\u0000', 'é.é.é', 'e'.repeat(5000)];
        for (const sample of samples) assert.equal(await w.tokens.verify(sample), null, JSON.stringify(sample.slice(0, 40)));
        const segment = fc.oneof(fc.base64String({ maxLength: 80 }).map((text) => text.replace(/=/g, '')), fc.string({ maxLength: 40 }));
        await fc.assert(
          fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.tuple(segment, segment, segment).map((parts) => parts.join('.'))), async (text) => {
            assert.equal(await w.tokens.verify(text), null);
          }),
          { numRuns: 300 },
        );
      });

      it('a forged signature on a cached genuine token is not answered from the cache', async () => {
        const w = await world();
        const { token } = await w.tokens.issue(SUBJECT);
        assert.notEqual(await w.tokens.verify(token), null);
        const [header = '', payload = ''] = token.split('.');
        const forged = `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`;
        assert.equal(await w.tokens.verify(forged), null);
      });

      it('a token cached while valid is not answered from the cache past its exp plus skew', async () => {
        const w = await world();
        // An entry may live 10 minutes here, so only the token's exp can end it (the
        // default one-minute age would end it anyway, and hide a cache that ignores exp).
        const cache = createVerifiedTokenCache<AccessClaims>({ maxEntries: 10, clock: w.time.clock, maxAgeMs: 10 * 60_000 });
        const tokens = createAccessTokens({ issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL_SECONDS, clock: w.time.clock, keys: w.source, cache });
        const token = await signAsServer(w, claimsAt(w.time, { exp: w.time.seconds() + 30 }));
        assert.notEqual(await tokens.verify(token), null);
        assert.equal(cache.size, 1, 'verified while valid: now in the cache');
        w.time.advance(30 + CLOCK_TOLERANCE_SECONDS + 1);
        assert.equal(await tokens.verify(token), null);
      });
    });

    describe('signing keys', () => {

      it('a stolen signing_keys table holds no private key in the clear', async () => {
        const w = await createTokenWorld(database().database.db);
        const rows = await w.db.selectFrom('signing_keys').selectAll().execute();
        assert.equal(rows.length, 2);
        for (const row of rows) {
          assert.match(row.wrapped_private_key, /^v1\.k1\./);
          assert.equal(row.master_key_id, 'k1');
          const der = w.keyring.unwrap(row.wrapped_private_key, signingKeyAAD(row.kid));
          const { d } = (await exportJWK(createPrivateKeyFromDER(der))) as { d?: string };
          assert.ok(d !== undefined);
          const dump = JSON.stringify(row);
          for (const form of [d, Buffer.from(d, 'base64url').toString('hex'), der.toString('base64'), der.toString('base64url'), der.toString('hex')]) {
            assert.ok(!dump.includes(form));
          }
          assert.ok(!('d' in row.public_jwk));
        }
      });

      it('a wrapped private key unwraps only under its own kid', async () => {
        const w = await createTokenWorld(database().database.db);
        const active = await w.db.selectFrom('signing_keys').selectAll().where('kid', '=', w.kids.activeKid).executeTakeFirstOrThrow();
        assert.ok(w.keyring.unwrap(active.wrapped_private_key, signingKeyAAD(w.kids.activeKid)).length > 0);
        assert.throws(() => w.keyring.unwrap(active.wrapped_private_key, signingKeyAAD(w.kids.nextKid)), CryptoError);
        assert.throws(() => testKeyring().unwrap(active.wrapped_private_key, signingKeyAAD(w.kids.activeKid)), CryptoError);
      });

      it('a private key swapped onto the active row (to sign as another key) is refused at load', async () => {
        const w = await createTokenWorld(database().database.db);
        const next = await w.db.selectFrom('signing_keys').select('wrapped_private_key').where('kid', '=', w.kids.nextKid).executeTakeFirstOrThrow();
        await w.db.updateTable('signing_keys').set({ wrapped_private_key: next.wrapped_private_key }).where('kid', '=', w.kids.activeKid).execute();
        // Refused twice over: the AAD names the kid, and the key must match the published one.
        await assert.rejects(loadSigningState(w.db, w.keyring, w.time.clock));
      });

      it('a token signed with a retired key after its publication window (an old key leaked from a backup) is refused', async () => {
        const w = await createTokenWorld(database().database.db);
        const rotated = await rotateSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
        const row = await w.db.selectFrom('signing_keys').selectAll().where('kid', '=', rotated.retiredKid).executeTakeFirstOrThrow();
        const leaked = createPrivateKeyFromDER(w.keyring.unwrap(row.wrapped_private_key, signingKeyAAD(row.kid)));
        w.time.advance((row.publish_until!.getTime() - w.time.clock().getTime()) / 1000);
        const token = await signToken(leaked, { alg: 'EdDSA', typ: 'at+jwt', kid: rotated.retiredKid }, claimsAt(w.time));
        const fresh = createSigningKeySource(w.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS });
        assert.equal(await tokensFor(fresh, w.time).verify(token), null);
      });

      it('a public key planted with a private d and extra members is published without them', async () => {
        const w = await createTokenWorld(database().database.db);
        const row = await w.db.selectFrom('signing_keys').select('public_jwk').where('kid', '=', w.kids.nextKid).executeTakeFirstOrThrow();
        const planted = { ...row.public_jwk, d: randomBytes(32).toString('base64url'), jku: 'https://evil.test/jwks' };
        await w.db.updateTable('signing_keys').set({ public_jwk: JSON.stringify(planted) }).where('kid', '=', w.kids.nextKid).execute();
        const state = await loadSigningState(w.db, w.keyring, w.time.clock);
        for (const key of state.jwks) assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      });

      it('instances starting together create exactly one active and one next key', async () => {
        const test = await engine.open();
        const second = test.url === null ? test.database : await openDatabase({ engine: 'postgres', url: test.url, poolMax: 10 });
        try {
          const time = testClock();
          const keyring = testKeyring();
          const starts = Array.from({ length: 12 }, (_, n) => ensureSigningKeys((n % 2 === 0 ? test.database : second).db, { keyring, clock: time.clock }));
          const results = await Promise.all(starts);
          assert.equal(new Set(results.map((ids) => JSON.stringify(ids))).size, 1, 'every instance sees the same keys');
          const states = await test.database.db.selectFrom('signing_keys').select('state').orderBy('state').execute();
          assert.deepEqual(states.map((row) => row.state), ['active', 'next']);
        } finally {
          if (second !== test.database) await second.close();
          await test.cleanup();
        }
      });

      it('concurrent rotations never leave two active keys or lose the chain', async () => {
        const w = await createTokenWorld(database().database.db);
        const deps = { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS };
        const results = await Promise.all(Array.from({ length: 6 }, () => rotateSigningKeys(w.db, deps)));
        const states = await w.db.selectFrom('signing_keys').select(['kid', 'state']).execute();
        assert.equal(states.filter((row) => row.state === 'active').length, 1);
        assert.equal(states.filter((row) => row.state === 'next').length, 1);
        assert.equal(states.filter((row) => row.state === 'retired').length, 6);
        // Serialized: each rotation retired the key the previous one activated.
        const retired = new Set(results.map((result) => result.retiredKid));
        assert.equal(retired.size, 6);
      });
    });

    describe('JWKS route', () => {
      it('a private d that reaches the JWKS route is never serialized', async () => {
        const { privateKey } = generateKeyPairSync('ed25519');
        const leaky = { ...(await exportJWK(privateKey)), kid: randomBytes(16).toString('base64url'), alg: 'EdDSA', use: 'sig' };
        assert.ok(typeof leaky.d === 'string');
        const keys: SigningKeySource = {
          current: () => Promise.reject(new Error('not used')),
          publicKey: () => Promise.resolve(null),
          jwks: () => Promise.resolve({ keys: [leaky as unknown as PublicSigningJWK] }),
          withdrawn: () => Promise.resolve(false),
          invalidate: () => {},
          clear: () => {},
        };
        const app = await startJWKSApp(keys);
        try {
          const response = await app.inject({ method: 'GET', url: JWKS_PATH });
          assert.equal(response.statusCode, 200);
          assert.ok(!response.body.includes(leaky.d ?? 'unreachable'));
          assert.deepEqual(Object.keys(response.json<{ keys: Record<string, unknown>[] }>().keys[0] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
        } finally {
          await app.close();
        }
      });
    });
  });
}

describe('verified-token cache attacks', () => {
  const claims = (exp: number, sub: string): AccessClaims => ({ iss: ISSUER, aud: AUDIENCE, sub, sid: 's', jti: sub, iat: exp - 60, exp, roles: [], amr: [], authTime: null });

  it('never answers one token with the claims of another', () => {
    const time = testClock();
    const cache = createVerifiedTokenCache<AccessClaims>({ maxEntries: 100, clock: time.clock });
    const exp = time.seconds() + 600;
    cache.set('header.payload.signature-a', claims(exp, 'alice'));
    assert.equal(cache.get('header.payload.signature-b'), null);
    assert.equal(cache.get('header.payload.signature-a '), null);
    assert.equal(cache.get('header.payload'), null);
    assert.equal(cache.get('header.payload.signature-a')?.sub, 'alice');
  });

  it('never answers past the token exp, even inside its one-minute lifetime', () => {
    const time = testClock();
    const cache = createVerifiedTokenCache<AccessClaims>({ maxEntries: 100, clock: time.clock });
    cache.set('t', claims(time.seconds() + 20, 'alice'));
    time.advance(19);
    assert.notEqual(cache.get('t'), null);
    time.advance(1);
    assert.equal(cache.get('t'), null);
    cache.set('expired', claims(time.seconds() - 1, 'bob'));
    assert.equal(cache.get('expired'), null);
  });
});
