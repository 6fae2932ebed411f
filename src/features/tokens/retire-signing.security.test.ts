// Attacks on the emergency retirement of a signing key, each named after what it tries.
// The attacker here holds the retired key's private half (that is why it was retired) and
// signs whatever it likes with it; every instance must refuse those tokens anyway.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { createCacheInvalidation } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import type { AccessClaims } from './access-claims.ts';
import { createAccessTokens } from './access-tokens.ts';
import { createSigningKeySource } from './signing-key-source.ts';
import { ensureSigningKeys, rotateSigningKeys } from './signing-keys.ts';
import {
  AUDIENCE,
  claimsAt,
  createTokenWorld,
  ISSUER,
  REFRESH_MS,
  retire,
  signToken,
  tokensFor,
  TTL_SECONDS,
  useDatabase,
  type TokenWorld,
} from './tokens.fixtures.ts';
import { createVerifiedTokenCache } from './verified-token-cache.ts';

const SUBJECT = { sub: 'user-1', sid: 'session-1', roles: ['member'], amr: ['pwd'], authTime: new Date('2026-01-01T00:00:00Z') } as const;

for (const engine of testEngines()) {
  describe(`attacks on a retired signing key on ${engine.engine}`, () => {
    const database = useDatabase(engine);
    const world = async (): Promise<TokenWorld> => createTokenWorld(database().database.db);

    it('a token forged with the leaked private key of a retired key is refused, though its signature is perfect', async () => {
      const w = await world();
      // What the attacker took: the active key's private half, as it sits in a process's memory.
      const leaked = await w.source.current();
      const forge = (): Promise<string> => signToken(leaked.privateKey, { alg: 'EdDSA', typ: 'at+jwt', kid: leaked.kid }, claimsAt(w.time, { roles: ['admin'] }));
      assert.notEqual(await tokensFor(w.source, w.time).verify(await forge()), null, 'before: the forgery is indistinguishable from a real token');
      await retire(w, leaked.kid);
      // An instance that starts now, and one that held the key and was told.
      const starting = createSigningKeySource(w.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS });
      w.source.invalidate(SIGNING_KEYS_TAG);
      for (const source of [starting, w.source]) {
        assert.equal(await tokensFor(source, w.time).verify(await forge()), null);
        assert.equal(await source.publicKey(leaked.kid), null);
        assert.ok(!(await source.jwks()).keys.some((key) => key.kid === leaked.kid), 'never published again');
        assert.notEqual((await source.current()).kid, leaked.kid, 'never signs again');
      }
    });

    it('a token verified and cached before the retirement is not answered from the cache after it', async () => {
      const w = await world();
      // As services.ts wires an instance: the key source and the verified tokens listen to one invalidation.
      const invalidation = createCacheInvalidation();
      const cache = createVerifiedTokenCache<AccessClaims>({ maxEntries: 100, clock: w.time.clock });
      const tokens = createAccessTokens({ issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL_SECONDS, clock: w.time.clock, keys: w.source, cache });
      invalidation.register(w.source);
      invalidation.register(cache);
      const { token } = await tokens.issue(SUBJECT);
      assert.notEqual(await tokens.verify(token), null);
      assert.equal(cache.size, 1);
      await retire(w, w.kids.activeKid);
      invalidation.invalidate(SIGNING_KEYS_TAG);
      assert.equal(await tokens.verify(token), null);
      const fresh = await tokens.issue(SUBJECT);
      assert.notEqual(await tokens.verify(fresh.token), null, 'signing goes on under the new key');
    });

    it('a forged signing_keys message only makes an instance reload: keys still trusted keep verifying', async () => {
      const w = await world();
      const { token } = await w.tokens.issue(SUBJECT);
      w.source.invalidate(SIGNING_KEYS_TAG);
      w.source.clear();
      assert.notEqual(await tokensFor(w.source, w.time).verify(token), null);
      assert.equal(await w.source.withdrawn(), false);
    });

    it('a revoked key is never brought back: not by rotations, not by a start-up, not by a hand-written UPDATE', async () => {
      const w = await world();
      const { activeKid, nextKid } = w.kids;
      await retire(w, activeKid);
      await retire(w, nextKid);
      for (let n = 0; n < 3; n += 1) {
        const rotated = await rotateSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
        assert.ok(![rotated.activeKid, rotated.nextKid].includes(activeKid) && ![rotated.activeKid, rotated.nextKid].includes(nextKid));
      }
      // Even with no live key left, a start-up makes new ones rather than reviving a revoked one.
      await w.db.deleteFrom('signing_keys').where('state', '<>', 'revoked').execute();
      const started = await ensureSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock });
      assert.ok(![started.activeKid, started.nextKid].some((kid) => kid === activeKid || kid === nextKid));
      for (const set of [{ state: 'active' as const }, { state: 'next' as const, revoked_at: null }, { revoked_at: new Date(0) }]) {
        await assert.rejects(
          w.db.updateTable('signing_keys').set(set).where('kid', '=', nextKid).execute(),
          /revocation is final|signing_keys_revoked_at|check constraint/,
        );
      }
      const row = await w.db.selectFrom('signing_keys').select(['state']).where('kid', '=', nextKid).executeTakeFirstOrThrow();
      assert.equal(row.state, 'revoked');
    });
  });
}
