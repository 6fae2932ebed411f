// Behaviour of signing keys, access tokens, the key source, the verified-token cache and
// the JWKS route, on every engine. Attacks live in tokens.security.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { testEngines } from '../../../test/helpers/database.ts';
import { SigningKeyError } from './errors.ts';
import { JWKS_CACHE_CONTROL, JWKS_PATH } from './jwks-routes.ts';
import { CLOCK_TOLERANCE_SECONDS, MAX_SIGNING_STATE_AGE_MS } from './limits.ts';
import { createSigningKeySource } from './signing-key-source.ts';
import { ensureSigningKeys, loadSigningState, rotateSigningKeys } from './signing-keys.ts';
import { createVerifiedTokenCache } from './verified-token-cache.ts';
import {
  AUDIENCE,
  countQueries,
  createTokenWorld,
  ISSUER,
  REFRESH_MS,
  startJWKSApp,
  testClock,
  testKeyring,
  tokensFor,
  TTL_SECONDS,
  useDatabase,
  type TokenWorld,
} from './tokens.fixtures.ts';

const SUBJECT = { sub: 'user-1', sid: 'session-1', roles: ['member', 'admin'], amr: ['pwd'], authTime: new Date('2026-01-01T00:00:00Z') } as const;
// The whole window a retired key stays published.
const PUBLISH_SECONDS = TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + MAX_SIGNING_STATE_AGE_MS / 1000;

async function publishedKids(world: TokenWorld): Promise<string[]> {
  return (await world.source.jwks()).keys.map((key) => key.kid);
}

function rotate(world: TokenWorld): ReturnType<typeof rotateSigningKeys> {
  return rotateSigningKeys(world.db, { keyring: world.keyring, clock: world.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
}

for (const engine of testEngines()) {
  describe(`tokens on ${engine.engine}`, () => {
    const database = useDatabase(engine);

    describe('signing keys', () => {

      it('bootstraps one active and one next key, then leaves them alone', async () => {
        const world = await createTokenWorld(database().database.db);
        const again = await ensureSigningKeys(world.db, { keyring: world.keyring, clock: world.time.clock });
        assert.deepEqual(again, world.kids);
        const rows = await world.db.selectFrom('signing_keys').select(['kid', 'state', 'algorithm', 'activated_at']).orderBy('state').execute();
        assert.deepEqual(
          rows.map((row) => [row.kid, row.state, row.algorithm]),
          [
            [world.kids.activeKid, 'active', 'EdDSA'],
            [world.kids.nextKid, 'next', 'EdDSA'],
          ],
        );
        assert.match(world.kids.activeKid, /^[A-Za-z0-9_-]{22}$/);
      });

      it('promotes a lone next key instead of activating a key nobody has seen', async () => {
        const world = await createTokenWorld(database().database.db);
        await world.db.deleteFrom('signing_keys').where('state', '=', 'active').execute();
        const repaired = await ensureSigningKeys(world.db, { keyring: world.keyring, clock: world.time.clock });
        assert.equal(repaired.activeKid, world.kids.nextKid);
        assert.notEqual(repaired.nextKid, world.kids.activeKid);
      });

      it('loads the active private key and publishes the active and next public keys', async () => {
        const world = await createTokenWorld(database().database.db);
        const state = await loadSigningState(world.db, world.keyring, world.time.clock);
        assert.equal(state.activeKid, world.kids.activeKid);
        assert.equal(state.privateKey.type, 'private');
        assert.equal(state.privateKey.asymmetricKeyType, 'ed25519');
        assert.deepEqual(state.jwks.map((key) => key.kid), [world.kids.activeKid, world.kids.nextKid]);
        for (const key of state.jwks) {
          assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
          assert.equal(key.kty, 'OKP');
          assert.equal(key.use, 'sig');
        }
      });

      it('refuses to load without an active key, naming the fix', async () => {
        const { db } = database().database;
        await db.deleteFrom('signing_keys').execute();
        await assert.rejects(loadSigningState(db, testKeyring(), testClock().clock), (error: unknown) => {
          assert.ok(error instanceof SigningKeyError);
          assert.equal(error.code, 'no_active_key');
          return true;
        });
      });

      it('rotates next to active and active to retired, published until the last token it signed expires', async () => {
        const world = await createTokenWorld(database().database.db);
        const rotated = await rotate(world);
        assert.equal(rotated.activeKid, world.kids.nextKid);
        assert.equal(rotated.retiredKid, world.kids.activeKid);
        assert.ok(![world.kids.activeKid, world.kids.nextKid].includes(rotated.nextKid));
        const retired = await world.db.selectFrom('signing_keys').selectAll().where('kid', '=', rotated.retiredKid).executeTakeFirstOrThrow();
        assert.equal(retired.state, 'retired');
        assert.deepEqual(retired.retired_at, world.time.clock());
        assert.deepEqual(retired.publish_until, new Date(world.time.clock().getTime() + PUBLISH_SECONDS * 1000));

        world.time.advance(REFRESH_MS / 1000);
        assert.deepEqual(await publishedKids(world), [rotated.activeKid, rotated.nextKid, rotated.retiredKid]);
        world.time.advance(PUBLISH_SECONDS - REFRESH_MS / 1000 - 1);
        const fresh = createSigningKeySource(world.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        assert.ok((await fresh.jwks()).keys.some((key) => key.kid === rotated.retiredKid));
        world.time.advance(1);
        const later = createSigningKeySource(world.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        assert.deepEqual((await later.jwks()).keys.map((key) => key.kid), [rotated.activeKid, rotated.nextKid]);
      });

      it('deletes retired keys once their publication window is over', async () => {
        const world = await createTokenWorld(database().database.db);
        const first = await rotate(world);
        world.time.advance(PUBLISH_SECONDS);
        const second = await rotate(world);
        const kids = (await world.db.selectFrom('signing_keys').select('kid').execute()).map((row) => row.kid);
        assert.ok(!kids.includes(first.retiredKid));
        assert.ok(kids.includes(second.retiredKid));
      });

      // `keys rotate-signing` rotates inside the change that audits it: the rotation must
      // commit with that transaction and vanish with its rollback.
      it('inside a caller\'s transaction, rotates with its commit and not at all with its rollback', async () => {
        const world = await createTokenWorld(database().database.db);
        const deps = { keyring: world.keyring, clock: world.time.clock, accessTokenTtlSeconds: TTL_SECONDS };
        const activeNow = async (): Promise<string[]> => (await world.db.selectFrom('signing_keys').select('kid').where('state', '=', 'active').execute()).map((row) => row.kid);
        await assert.rejects(
          world.db.transaction().execute(async (trx) => {
            const rotated = await rotateSigningKeys(trx, deps);
            assert.equal(rotated.retiredKid, world.kids.activeKid);
            throw new Error('the change failed after the rotation');
          }),
          /the change failed/,
        );
        assert.deepEqual(await activeNow(), [world.kids.activeKid]);
        const result = await world.db.transaction().execute((trx) => rotateSigningKeys(trx, deps));
        assert.equal(result.retiredKid, world.kids.activeKid);
        assert.equal(result.activeKid, world.kids.nextKid);
        assert.deepEqual(await activeNow(), [result.activeKid]);
      });

      it('rotation refuses a nonsensical access-token lifetime', async () => {
        const world = await createTokenWorld(database().database.db);
        for (const ttl of [0, -1, 1.5, Number.NaN, 86_401]) {
          await assert.rejects(
            rotateSigningKeys(world.db, { keyring: world.keyring, clock: world.time.clock, accessTokenTtlSeconds: ttl }),
            RangeError,
          );
        }
      });
    });

    describe('access tokens', () => {

      it('issues an EdDSA at+jwt that verifies to its claims', async () => {
        const world = await createTokenWorld(database().database.db);
        const issued = await world.tokens.issue(SUBJECT);
        assert.equal(issued.expiresIn, TTL_SECONDS);
        assert.deepEqual(decodeProtectedHeader(issued.token), { alg: 'EdDSA', typ: 'at+jwt', kid: world.kids.activeKid });
        const claims = await world.tokens.verify(issued.token);
        const iat = world.time.seconds();
        assert.deepEqual(claims, {
          iss: ISSUER,
          aud: AUDIENCE,
          sub: SUBJECT.sub,
          sid: SUBJECT.sid,
          jti: issued.jti,
          iat,
          exp: iat + TTL_SECONDS,
          roles: SUBJECT.roles,
          amr: SUBJECT.amr,
          authTime: SUBJECT.authTime.getTime() / 1000,
        });
        const { authTime, ...rest } = claims;
        // On the wire the RFC 8176 / OpenID Connect names: `amr` and `auth_time`.
        assert.deepEqual(decodeJwt(issued.token), { ...rest, auth_time: authTime });
      });

      it('gives every token its own jti', async () => {
        const world = await createTokenWorld(database().database.db);
        const jtis = new Set<string>();
        for (let n = 0; n < 20; n += 1) jtis.add((await world.tokens.issue(SUBJECT)).jti);
        assert.equal(jtis.size, 20);
      });

      it('another instance verifies what this one issued', async () => {
        const world = await createTokenWorld(database().database.db);
        const other = createSigningKeySource(world.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        const { token } = await world.tokens.issue(SUBJECT);
        assert.equal((await tokensFor(other, world.time).verify(token))?.sub, SUBJECT.sub);
      });

      it('a token issued before a rotation still verifies after it, until it expires', async () => {
        const world = await createTokenWorld(database().database.db);
        const { token } = await world.tokens.issue(SUBJECT);
        await rotate(world);
        world.time.advance(REFRESH_MS / 1000);
        assert.equal((await world.source.current()).kid, world.kids.nextKid, 'signs with the new key');
        const verifier = tokensFor(world.source, world.time);
        assert.equal((await verifier.verify(token))?.sub, SUBJECT.sub);
        world.time.advance(TTL_SECONDS - REFRESH_MS / 1000 + CLOCK_TOLERANCE_SECONDS - 1);
        assert.notEqual(await tokensFor(world.source, world.time).verify(token), null);
        world.time.advance(2);
        assert.equal(await tokensFor(world.source, world.time).verify(token), null);
      });

      it('a token signed by an instance that has not yet seen the rotation verifies until it expires', async () => {
        const world = await createTokenWorld(database().database.db);
        await world.source.current();
        await rotate(world);
        // Still within its refresh interval, this instance signs with the retired key.
        world.time.advance(REFRESH_MS / 1000 - 1);
        const { token } = await world.tokens.issue(SUBJECT);
        assert.equal(decodeProtectedHeader(token).kid, world.kids.activeKid);
        world.time.advance(TTL_SECONDS + CLOCK_TOLERANCE_SECONDS - 1);
        const fresh = createSigningKeySource(world.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        assert.equal((await tokensFor(fresh, world.time).verify(token))?.sub, SUBJECT.sub);
      });

      it('picks up a rotation made by another instance within the refresh interval', async () => {
        const world = await createTokenWorld(database().database.db);
        assert.equal((await world.source.current()).kid, world.kids.activeKid);
        const rotated = await rotate(world);
        world.time.advance(REFRESH_MS / 1000 - 1);
        assert.equal((await world.source.current()).kid, world.kids.activeKid, 'cached within the interval');
        world.time.advance(1);
        assert.equal((await world.source.current()).kid, rotated.activeKid);
      });

      it('verifies a token under a key it has not loaded yet by reloading once', async () => {
        const world = await createTokenWorld(database().database.db);
        await world.source.current();
        await rotate(world);
        const second = await rotate(world);
        // A fresh instance signs with a key the first one has never seen.
        const other = createSigningKeySource(world.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        const { token } = await tokensFor(other, world.time).issue(SUBJECT);
        assert.equal(decodeProtectedHeader(token).kid, second.activeKid);
        assert.equal((await world.tokens.verify(token))?.sub, SUBJECT.sub);
      });

      it('answers repeated verifications from the cache, without the key source', async () => {
        const world = await createTokenWorld(database().database.db);
        const counter = countQueries(world.db);
        const source = createSigningKeySource(counter.db, { keyring: world.keyring, clock: world.time.clock, refreshMs: REFRESH_MS });
        const tokens = tokensFor(source, world.time);
        const { token } = await tokens.issue(SUBJECT);
        const first = await tokens.verify(token);
        world.time.advance(REFRESH_MS / 1000 + 1);
        const before = counter.count();
        assert.equal(await tokens.verify(token), first, 'the same frozen claims object');
        assert.equal(counter.count(), before);
        assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.roles));
      });

      it('keeps serving the last good keys when a reload fails, and reports it', async () => {
        const world = await createTokenWorld(database().database.db);
        const counter = countQueries(world.db);
        const errors: unknown[] = [];
        const source = createSigningKeySource(counter.db, {
          keyring: world.keyring,
          clock: world.time.clock,
          refreshMs: REFRESH_MS,
          onRefreshError: (error) => errors.push(error),
        });
        const kid = (await source.current()).kid;
        counter.failing = true;
        world.time.advance(REFRESH_MS / 1000);
        assert.equal((await source.current()).kid, kid);
        assert.equal(errors.length, 1);
        const attempts = counter.count();
        await source.current();
        assert.equal(counter.count(), attempts, 'no retry while backing off');
        counter.failing = false;
        world.time.advance(5);
        assert.equal((await source.current()).kid, kid);
        assert.equal(counter.count(), attempts + 1);
      });

      it('refuses to issue for an empty subject or session, or a malformed role list', async () => {
        const world = await createTokenWorld(database().database.db);
        await assert.rejects(world.tokens.issue({ ...SUBJECT, sub: '' }), TypeError);
        await assert.rejects(world.tokens.issue({ ...SUBJECT, sid: '' }), TypeError);
        await assert.rejects(world.tokens.issue({ ...SUBJECT, roles: [''] }), TypeError);
        await assert.rejects(world.tokens.issue({ ...SUBJECT, roles: Array.from({ length: 65 }, (_, n) => `r${n}`) }), TypeError);
      });

      it('refuses a key source refreshing less often than rotation allows for', () => {
        const { db } = database().database;
        assert.throws(() => createSigningKeySource(db, { keyring: testKeyring(), clock: testClock().clock, refreshMs: MAX_SIGNING_STATE_AGE_MS + 1 }), RangeError);
      });
    });

    describe('JWKS route', () => {

      it('serves the published keys, cacheable for five minutes', async () => {
        const world = await createTokenWorld(database().database.db);
        const app = await startJWKSApp(world.source);
        try {
          const response = await app.inject({ method: 'GET', url: JWKS_PATH });
          assert.equal(response.statusCode, 200);
          assert.equal(response.headers['cache-control'], JWKS_CACHE_CONTROL);
          assert.match(String(response.headers['content-type']), /^application\/json/);
          assert.deepEqual(response.json(), { keys: (await world.source.jwks()).keys });
          assert.deepEqual(
            response.json<{ keys: { kid: string }[] }>().keys.map((key) => key.kid),
            [world.kids.activeKid, world.kids.nextKid],
          );
        } finally {
          await app.close();
        }
      });
    });
  });
}

describe('verified-token cache', () => {
  it('holds at most maxEntries, dropping the least recently used', () => {
    const time = testClock();
    const cache = createVerifiedTokenCache<{ exp: number; n: number }>({ maxEntries: 2, clock: time.clock });
    const exp = time.seconds() + 600;
    cache.set('a', { exp, n: 1 });
    cache.set('b', { exp, n: 2 });
    assert.equal(cache.get('a')?.n, 1);
    cache.set('c', { exp, n: 3 });
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), null);
    assert.equal(cache.get('a')?.n, 1);
    assert.equal(cache.get('c')?.n, 3);
  });

  it('a verification under way when a signing key is withdrawn is not remembered (the signature checked against a withdrawn key)', async () => {
    const time = testClock();
    const cache = createVerifiedTokenCache<{ exp: number }>({ maxEntries: 10, clock: time.clock });
    const exp = time.seconds() + 600;
    let release: () => void = () => {};
    const verifying = cache.load('token', async () => {
      await new Promise<void>((resolve) => { release = resolve; });
      return { exp };
    });
    cache.invalidate('signing_keys');
    release();
    assert.deepEqual(await verifying, { exp });
    assert.equal(cache.get('token'), null, 'stored after the withdrawal emptied the cache');
    assert.deepEqual(await cache.load('token', () => Promise.resolve({ exp })), { exp });
    assert.notEqual(cache.get('token'), null);
  });

  it('forgets an entry after at most a minute', () => {
    const time = testClock();
    const cache = createVerifiedTokenCache<{ exp: number }>({ maxEntries: 10, clock: time.clock });
    cache.set('a', { exp: time.seconds() + 600 });
    time.advance(59);
    assert.notEqual(cache.get('a'), null);
    time.advance(1);
    assert.equal(cache.get('a'), null);
    assert.equal(cache.size, 0);
  });
});
