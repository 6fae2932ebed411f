import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testClock } from '../tokens/tokens.fixtures.ts';
import { createProfileCache, PROFILE_CACHE_MAX_TTL_MS } from './profile-cache.ts';
import type { UserProfile } from './repo.ts';

const ID = '0190b6a0-0000-7000-8000-000000000001';

function profile(name: string, id = ID): UserProfile {
  return { id, email: 'ada@example.test', name, emailVerified: true, roles: ['user'], createdAt: new Date(0) };
}

function loader(...answers: (UserProfile | null)[]): { load: () => Promise<UserProfile | null>; readonly calls: number } {
  let calls = 0;
  return {
    load: () => Promise.resolve(answers[Math.min(calls++, answers.length - 1)] ?? null),
    get calls() {
      return calls;
    },
  };
}

describe('profile cache', () => {
  it('serves a profile from memory until its time is up, then loads it again', async () => {
    const time = testClock();
    const cache = createProfileCache({ clock: time.clock, ttlMs: 1000 });
    const source = loader(profile('Ada'), profile('Ada L.'));
    assert.equal((await cache.get(ID, source.load))?.name, 'Ada');
    assert.equal((await cache.get(ID, source.load))?.name, 'Ada');
    assert.equal(source.calls, 1);
    time.advance(1);
    assert.equal((await cache.get(ID, source.load))?.name, 'Ada L.');
    assert.equal(source.calls, 2);
  });

  it('invalidating the user makes the next read go to the database', async () => {
    const cache = createProfileCache({ clock: testClock().clock });
    const source = loader(profile('Ada'), profile('Ada L.'));
    await cache.get(ID, source.load);
    cache.invalidate(`user:${ID}`);
    assert.equal((await cache.get(ID, source.load))?.name, 'Ada L.');
  });

  it('a load that began before a change is not cached after the change invalidated the user', async () => {
    const cache = createProfileCache({ clock: testClock().clock });
    let release = (): void => undefined;
    const stale = cache.get(ID, () => new Promise((resolve) => { release = () => { resolve(profile('Ada')); }; }));
    cache.invalidate(`user:${ID}`);
    release();
    assert.equal((await stale)?.name, 'Ada', 'the caller still gets its answer');
    assert.equal((await cache.get(ID, loader(profile('Ada L.')).load))?.name, 'Ada L.');
  });

  it('holds at most maxEntries users, dropping the least recently used', async () => {
    const cache = createProfileCache({ clock: testClock().clock, maxEntries: 2 });
    const ids = ['a', 'b', 'c'].map((n) => `0190b6a0-0000-7000-8000-00000000000${n}`);
    for (const id of ids) await cache.get(id, loader(profile(id, id)).load);
    assert.equal(cache.size, 2);
    const first = loader(profile('again'));
    assert.equal((await cache.get(ids[0] ?? '', first.load))?.name, 'again');
    assert.equal(first.calls, 1, 'the oldest entry was evicted');
  });

  it('does not cache a missing profile, and hands out frozen ones', async () => {
    const cache = createProfileCache({ clock: testClock().clock });
    const source = loader(null, profile('Ada'));
    assert.equal(await cache.get(ID, source.load), null);
    const found = await cache.get(ID, source.load);
    assert.equal(found?.name, 'Ada');
    assert.ok(Object.isFrozen(found) && Object.isFrozen(found.roles));
  });

  it('refuses a lifetime longer than a few seconds', () => {
    assert.throws(() => createProfileCache({ clock: testClock().clock, ttlMs: PROFILE_CACHE_MAX_TTL_MS + 1 }), RangeError);
    assert.throws(() => createProfileCache({ clock: testClock().clock, maxEntries: -1 }), RangeError);
  });
});
