import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTtlCache } from './cache.ts';

function manual(): { clock: () => Date; advance(ms: number): void } {
  let now = Date.now();
  return { clock: () => new Date(now), advance: (ms) => { now += ms; } };
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => { resolve = done; });
  return { promise, resolve };
}

describe('the one in-process cache', () => {
  it('keeps a value for its lifetime, then loads again', async () => {
    const time = manual();
    const cache = createTtlCache<number>({ clock: time.clock, ttlMs: 1000, maxEntries: 10 });
    let loads = 0;
    const load = (): Promise<number> => Promise.resolve(++loads);
    assert.equal(await cache.load('k', load), 1);
    time.advance(999);
    assert.equal(await cache.load('k', load), 1);
    time.advance(1);
    assert.equal(await cache.load('k', load), 2);
  });

  it('a value loaded before a delete is not stored after it (the revoke racing a check)', async () => {
    const cache = createTtlCache<string>({ clock: manual().clock, ttlMs: 1000, maxEntries: 10 });
    const slow = deferred<string>();
    const inFlight = cache.load('session', () => slow.promise);
    cache.delete('session');
    slow.resolve('active');
    assert.equal(await inFlight, 'active', 'the caller that asked before still gets its answer');
    assert.equal(cache.get('session'), undefined, 'but it is not cached');
    const cleared = deferred<string>();
    const another = cache.load('other', () => cleared.promise);
    cache.clear();
    cleared.resolve('stale');
    await another;
    assert.equal(cache.get('other'), undefined);
  });

  it('counts a lifetime from before the load, and never stores past it', async () => {
    const time = manual();
    const cache = createTtlCache<string>({ clock: time.clock, ttlMs: 1000, maxEntries: 10 });
    const slow = deferred<string>();
    const loading = cache.load('k', () => slow.promise);
    time.advance(600);
    slow.resolve('v');
    await loading;
    time.advance(400);
    assert.equal(cache.get('k'), undefined);
  });

  it('evicts the least recently used first and never holds more than maxEntries', () => {
    const cache = createTtlCache<number>({ clock: manual().clock, ttlMs: 1000, maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
  });

  it('an explicit lifetime is capped by the cache lifetime, and a past one stores nothing', () => {
    const time = manual();
    const cache = createTtlCache<number>({ clock: time.clock, ttlMs: 1000, maxEntries: 10 });
    cache.set('long', 1, 60_000);
    cache.set('past', 2, -5);
    assert.equal(cache.get('past'), undefined);
    time.advance(1000);
    assert.equal(cache.get('long'), undefined);
  });

  it('keep can refuse to store an answer', async () => {
    const cache = createTtlCache<number | null>({ clock: manual().clock, ttlMs: 1000, maxEntries: 10 });
    let loads = 0;
    const load = (): Promise<null> => { loads += 1; return Promise.resolve(null); };
    await cache.load('k', load, { keep: (value) => value !== null });
    await cache.load('k', load, { keep: (value) => value !== null });
    assert.equal(loads, 2);
  });
});

describe('tags: invalidation by what an entry was derived from', () => {
  it('invalidate drops every entry carrying the tag and nothing else', async () => {
    const cache = createTtlCache<string>({ clock: manual().clock, ttlMs: 1000, maxEntries: 10 });
    await cache.load('s1', () => Promise.resolve('a'), { tags: () => ['user:1'] });
    await cache.load('s2', () => Promise.resolve('b'), { tags: () => ['user:1', 'session:s2'] });
    cache.set('s3', 'c', 1000, ['user:2']);
    cache.invalidate('user:1');
    assert.equal(cache.get('s1'), undefined);
    assert.equal(cache.get('s2'), undefined);
    assert.equal(cache.get('s3'), 'c');
    cache.invalidate('user:2');
    assert.equal(cache.size, 0);
  });

  it('a value loaded before an invalidation is not stored after it', async () => {
    const cache = createTtlCache<string>({ clock: manual().clock, ttlMs: 1000, maxEntries: 10 });
    const slow = deferred<string>();
    const inFlight = cache.load('s1', () => slow.promise, { tags: () => ['user:1'] });
    cache.invalidate('user:9');
    slow.resolve('active');
    assert.equal(await inFlight, 'active');
    assert.equal(cache.get('s1'), undefined);
  });

  it('the tag index forgets evicted, expired, replaced and deleted entries', () => {
    const time = manual();
    const cache = createTtlCache<number>({ clock: time.clock, ttlMs: 1000, maxEntries: 2 });
    cache.set('a', 1, 1000, ['t']);
    cache.set('b', 2, 1000, ['t']);
    cache.set('c', 3, 1000, ['u']);
    cache.set('b', 4, 1000, ['v']);
    cache.invalidate('t');
    assert.equal(cache.get('b'), 4, 'b no longer carries t after it was replaced');
    assert.equal(cache.get('c'), 3);
    cache.delete('c');
    cache.set('a', 5, 1000, ['u']);
    assert.equal(cache.get('a'), 5, 'a deleted entry c under u does not take a with it later');
    cache.invalidate('u');
    assert.equal(cache.get('a'), undefined);
  });
});
