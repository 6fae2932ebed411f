// Behaviour of the emergency retirement of a signing key (`keys retire-signing KID --now`)
// on every engine: the states it leaves, idempotence, and how each instance's key source
// and verified-token cache let go of the key. The attacks are in
// retire-signing.security.test.ts; two real instances in test/e2e/retire-signing.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testEngines } from '../../../test/helpers/database.ts';
import { createCacheInvalidation } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import { createLogger } from '../../core/logging.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import { rewrapSigningKeys } from './rewrap.ts';
import { createSigningKeySource } from './signing-key-source.ts';
import { ensureSigningKeys, retireSigningKeyNow, rotateSigningKeys } from './signing-keys.ts';
import { createTokenWorld, REFRESH_MS, retire, tokensFor, TTL_SECONDS, useDatabase, type TokenWorld } from './tokens.fixtures.ts';
import { watchSigningKeys } from './watch-signing-keys.ts';

const SUBJECT = { sub: 'user-1', sid: 'session-1', roles: ['member'], amr: ['pwd'], authTime: new Date('2026-01-01T00:00:00Z') } as const;

async function states(world: TokenWorld): Promise<Record<string, string>> {
  const rows = await world.db.selectFrom('signing_keys').select(['kid', 'state']).execute();
  return Object.fromEntries(rows.map((row) => [row.kid, row.state]));
}

for (const engine of testEngines()) {
  describe(`retiring a signing key at once on ${engine.engine}`, () => {
    const database = useDatabase(engine);
    const world = async (): Promise<TokenWorld> => createTokenWorld(database().database.db);

    it('the active key: revoked, the next key signs at once, a new next key is published', async () => {
      const w = await world();
      const { activeKid, nextKid } = w.kids;
      const retired = await retire(w, activeKid);
      assert.ok(retired.outcome === 'retired', retired.outcome);
      assert.equal(retired.previousState, 'active');
      assert.equal(retired.activeKid, nextKid);
      assert.notEqual(retired.nextKid, activeKid);
      assert.notEqual(retired.nextKid, nextKid);
      assert.deepEqual(await states(w), { [activeKid]: 'revoked', [nextKid]: 'active', [retired.nextKid]: 'next' });
      const row = await w.db.selectFrom('signing_keys').select(['revoked_at', 'publish_until']).where('kid', '=', activeKid).executeTakeFirstOrThrow();
      assert.equal(new Date(row.revoked_at ?? 0).getTime(), w.time.clock().getTime());
      assert.equal(row.publish_until, null);
      // A fresh source (an instance starting now) signs with the new key and never publishes the old one.
      const source = createSigningKeySource(w.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS });
      assert.equal((await source.current()).kid, nextKid);
      assert.deepEqual((await source.jwks()).keys.map((key) => key.kid), [nextKid, retired.nextKid]);
    });

    it('a second run changes nothing and says the key is already retired', async () => {
      const w = await world();
      const first = await retire(w, w.kids.activeKid);
      const before = await states(w);
      w.time.advance(60);
      const second = await retire(w, w.kids.activeKid);
      assert.deepEqual(second, { outcome: 'already_retired', revokedAt: new Date(w.time.clock().getTime() - 60_000) });
      assert.deepEqual(await states(w), before);
      assert.equal(first.outcome, 'retired');
    });

    it('a kid that does not exist is refused and nothing changes', async () => {
      const w = await world();
      const before = await states(w);
      assert.deepEqual(await retire(w, randomBytes(16).toString('base64url')), { outcome: 'not_found' });
      assert.deepEqual(await states(w), before);
    });

    it('the next key: revoked before it ever signs, and replaced; the active key keeps signing', async () => {
      const w = await world();
      const retired = await retire(w, w.kids.nextKid);
      assert.ok(retired.outcome === 'retired');
      assert.equal(retired.previousState, 'next');
      assert.equal(retired.activeKid, w.kids.activeKid);
      assert.notEqual(retired.nextKid, w.kids.nextKid);
      // The next rotation promotes the replacement, never the revoked key.
      const rotated = await rotateSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
      assert.equal(rotated.activeKid, retired.nextKid);
      assert.equal((await states(w))[w.kids.nextKid], 'revoked');
    });

    it('a retired key still inside its publication window: revoked, the live keys untouched', async () => {
      const w = await world();
      const rotated = await rotateSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
      const retired = await retire(w, rotated.retiredKid);
      assert.deepEqual(retired, { outcome: 'retired', previousState: 'retired', activeKid: rotated.activeKid, nextKid: rotated.nextKid });
      const source = createSigningKeySource(w.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS });
      assert.deepEqual((await source.jwks()).keys.map((key) => key.kid), [rotated.activeKid, rotated.nextKid]);
    });

    it('a revoked key is still re-wrapped by keys rotate-master, and stays revoked', async () => {
      const db = database().database.db;
      await db.deleteFrom('signing_keys').execute();
      const k1 = { id: 'k1', key: randomBytes(32) };
      const deps = { keyring: createKeyring([k1]), clock: () => new Date() };
      const { activeKid } = await ensureSigningKeys(db, deps);
      await db.transaction().execute((trx) => retireSigningKeyNow(trx, deps, activeKid));
      assert.equal(await rewrapSigningKeys(db, createKeyring([{ id: 'k2', key: randomBytes(32) }, k1])), 3);
      const row = await db.selectFrom('signing_keys').select(['state', 'master_key_id']).where('kid', '=', activeKid).executeTakeFirstOrThrow();
      assert.deepEqual(row, { state: 'revoked', master_key_id: 'k2' });
    });

    it('withdrawn() tells an instance that a key it trusts was retired elsewhere, and only then', async () => {
      const w = await world();
      await w.source.current();
      assert.equal(await w.source.withdrawn(), false);
      await rotateSigningKeys(w.db, { keyring: w.keyring, clock: w.time.clock, accessTokenTtlSeconds: TTL_SECONDS });
      assert.equal(await w.source.withdrawn(), false, 'a calm rotation withdraws nothing: the old key stays published');
      await retire(w, w.kids.nextKid);
      assert.equal(await w.source.withdrawn(), true);
    });

    it('the signing_keys tag makes a source let go at once, without waiting for its refresh interval', async () => {
      const w = await world();
      const { token } = await w.tokens.issue(SUBJECT);
      assert.notEqual(await w.source.publicKey(w.kids.activeKid), null);
      await retire(w, w.kids.activeKid);
      assert.notEqual(await w.source.publicKey(w.kids.activeKid), null, 'no message yet, and the refresh interval has not passed');
      w.source.invalidate('roles');
      assert.notEqual(await w.source.publicKey(w.kids.activeKid), null, 'other tags are not about keys');
      w.source.invalidate(SIGNING_KEYS_TAG);
      assert.equal(await w.source.publicKey(w.kids.activeKid), null);
      assert.equal((await w.source.current()).kid, w.kids.nextKid);
      assert.equal(await tokensFor(w.source, w.time).verify(token), null);
    });

    it('a load in flight when the tag arrives is not kept', async () => {
      const w = await world();
      const source = createSigningKeySource(w.db, { keyring: w.keyring, clock: w.time.clock, refreshMs: REFRESH_MS });
      const loading = source.current();
      source.invalidate(SIGNING_KEYS_TAG);
      await loading;
      await retire(w, w.kids.activeKid);
      // Had the first load been kept as fresh, this would answer from it for 30 s.
      assert.equal(await source.publicKey(w.kids.activeKid), null);
    });

    it('the watcher turns a withdrawal found by its check into the signing_keys invalidation', async () => {
      const w = await world();
      const invalidation = createCacheInvalidation();
      const seen: string[] = [];
      invalidation.register({ invalidate: (tag) => { seen.push(tag); }, clear: () => { seen.push('*'); } });
      await w.source.current();
      const watch = watchSigningKeys({ source: w.source, invalidation, log: createLogger({ level: 'silent' }), intervalMs: 20 });
      try {
        await sleep(100);
        assert.deepEqual(seen, [], 'nothing withdrawn: nothing invalidated');
        await retire(w, w.kids.activeKid);
        const deadline = Date.now() + 5_000;
        while (seen.length === 0 && Date.now() < deadline) await sleep(10);
        assert.deepEqual(seen.slice(0, 1), [SIGNING_KEYS_TAG]);
      } finally {
        await watch.close();
      }
    });
  });
}
