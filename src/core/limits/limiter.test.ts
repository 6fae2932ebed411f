import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { CounterStore } from './counter-store.ts';
import { createLimiter } from './limiter.ts';
import { deleteKeysUnder, manualClock, openTestRedis, randomPrefix, redisTestURL, sleep } from './limits.fixtures.ts';
import { createMemoryCounterStore } from './memory-store.ts';
import { createRedisCounterStore } from './redis-store.ts';

interface StoreUnderTest {
  readonly store: CounterStore;
  /** A window short enough to wait out on Redis, where the clock cannot be moved. */
  readonly windowMs: number;
  /** Lets `ms` pass for the store. */
  readonly pass: (ms: number) => Promise<void>;
}

interface StoreCase {
  readonly name: string;
  readonly skip: string | false;
  open(): StoreUnderTest;
}

function memoryCase(): StoreCase {
  return {
    name: 'memory',
    skip: false,
    open() {
      const time = manualClock();
      return {
        store: createMemoryCounterStore({ clock: time.clock, maxKeys: 1000 }),
        windowMs: 60_000,
        pass(ms) {
          time.advance(ms);
          return Promise.resolve();
        },
      };
    },
  };
}

function redisCase(): StoreCase {
  const url = redisTestURL();
  let redis: Redis | undefined;
  const prefix = randomPrefix();
  let opened = 0;
  before(() => {
    if (url !== null) redis = openTestRedis(url);
  });
  after(async () => {
    if (redis === undefined) return;
    await deleteKeysUnder(redis, prefix);
    redis.disconnect();
  });
  return {
    name: 'redis',
    skip: url === null ? 'REDIS_URL_TEST is not set' : false,
    open() {
      if (redis === undefined) throw new Error('redis is not open');
      return { store: createRedisCounterStore(redis, { prefix: `${prefix}${++opened}:` }), windowMs: 300, pass: sleep };
    },
  };
}

for (const storeCase of [memoryCase(), redisCase()]) {
  describe(`fixed-window limiter on ${storeCase.name}`, { skip: storeCase.skip }, () => {
    it('allows max hits in a window, then refuses with the time left in the window', async () => {
      const { store, windowMs } = storeCase.open();
      const limiter = createLimiter(store, { name: 'login', max: 3, windowMs });
      const decisions = [];
      for (let hit = 0; hit < 5; hit++) decisions.push(await limiter.consume('client-a'));
      assert.deepEqual(
        decisions.map((d) => [d.allowed, d.remaining]),
        [[true, 2], [true, 1], [true, 0], [false, 0], [false, 0]],
      );
      assert.equal(decisions[0]!.retryAfterSeconds, 0);
      assert.equal(decisions[3]!.retryAfterSeconds, Math.ceil(windowMs / 1000));
      assert.ok(decisions.every((d) => d.resetSeconds >= 1 && d.resetSeconds <= Math.ceil(windowMs / 1000)), 'the time to the window\'s end, allowed or not');
    });

    it('starts a fresh budget once the window has ended', async () => {
      const { store, windowMs, pass } = storeCase.open();
      const limiter = createLimiter(store, { name: 'login', max: 2, windowMs });
      await limiter.consume('client-a');
      await limiter.consume('client-a');
      assert.equal((await limiter.consume('client-a')).allowed, false);
      await pass(windowMs + 50);
      const fresh = await limiter.consume('client-a');
      assert.deepEqual(fresh, { allowed: true, remaining: 1, retryAfterSeconds: 0, resetSeconds: Math.ceil(windowMs / 1000) });
    });

    it('refused hits do not extend the window', async () => {
      const { store, windowMs, pass } = storeCase.open();
      const limiter = createLimiter(store, { name: 'login', max: 1, windowMs });
      await limiter.consume('client-a');
      await pass(windowMs / 2);
      assert.equal((await limiter.consume('client-a')).allowed, false);
      await pass(windowMs / 2 + 50);
      assert.equal((await limiter.consume('client-a')).allowed, true);
    });

    it('counts each key on its own', async () => {
      const { store, windowMs } = storeCase.open();
      const limiter = createLimiter(store, { name: 'login', max: 1, windowMs });
      assert.equal((await limiter.consume('client-a')).allowed, true);
      assert.equal((await limiter.consume('client-a')).allowed, false);
      assert.equal((await limiter.consume('client-b')).allowed, true);
    });

    it('reset gives a key its whole budget back', async () => {
      const { store, windowMs } = storeCase.open();
      const limiter = createLimiter(store, { name: 'login', max: 1, windowMs });
      await limiter.consume('client-a');
      assert.equal((await limiter.consume('client-a')).allowed, false);
      await limiter.reset('client-a');
      assert.deepEqual(await limiter.consume('client-a'), { allowed: true, remaining: 0, retryAfterSeconds: 0, resetSeconds: Math.ceil(windowMs / 1000) });
    });

    it('reports the time left in the window from the store', async () => {
      const { store, windowMs } = storeCase.open();
      const first = await store.increment('k', windowMs);
      const second = await store.increment('k', windowMs);
      assert.equal(first.count, 1);
      assert.equal(second.count, 2);
      assert.ok(second.resetMs > 0 && second.resetMs <= windowMs, `resetMs ${second.resetMs}`);
    });
  });
}

describe('redis counter store', { skip: redisTestURL() === null ? 'REDIS_URL_TEST is not set' : false }, () => {
  let redis: Redis | undefined;
  const prefix = randomPrefix();
  const client = (): Redis => {
    if (redis === undefined) throw new Error('redis is not open');
    return redis;
  };
  before(() => {
    redis = openTestRedis(redisTestURL() ?? '');
  });
  after(async () => {
    await deleteKeysUnder(client(), prefix);
    client().disconnect();
  });

  it('gives every counter an expiry on its first hit, under the prefix', async () => {
    const store = createRedisCounterStore(client(), { prefix });
    await createLimiter(store, { name: 'login', max: 5, windowMs: 60_000 }).consume('client-a');
    const ttl = await client().pttl(`${prefix}login:{client-a}`);
    assert.ok(ttl > 59_000 && ttl <= 60_000, `ttl ${ttl}`);
  });

  it('repairs a counter that lost its expiry instead of blocking its key for good', async () => {
    const store = createRedisCounterStore(client(), { prefix });
    await client().set(`${prefix}{stuck}`, '100');
    const window = await store.increment('stuck', 5_000);
    assert.equal(window.count, 101);
    assert.equal(window.resetMs, 5_000);
    assert.ok((await client().pttl(`${prefix}{stuck}`)) > 0);
  });

  it('loads its script again after the server forgot it', async () => {
    const store = createRedisCounterStore(client(), { prefix });
    await store.increment('reload', 5_000);
    await client().script('FLUSH');
    assert.equal((await store.increment('reload', 5_000)).count, 2);
  });

  it('needs a prefix', () => {
    assert.throws(() => createRedisCounterStore(client(), { prefix: '' }), RangeError);
  });
});

describe('limiter and store options', () => {
  const store = createMemoryCounterStore({ clock: manualClock().clock, maxKeys: 10 });

  it('rejects names that could collide with another limiter and budgets that make no sense', () => {
    for (const name of ['', 'login:ip', 'a b', 'x'.repeat(65)]) {
      assert.throws(() => createLimiter(store, { name, max: 1, windowMs: 1000 }), RangeError);
    }
    for (const max of [0, -1, 1.5, Number.NaN]) assert.throws(() => createLimiter(store, { name: 'n', max, windowMs: 1000 }), RangeError);
    for (const windowMs of [0, -5, 0.5, Number.POSITIVE_INFINITY]) assert.throws(() => createLimiter(store, { name: 'n', max: 1, windowMs }), RangeError);
    assert.throws(() => createMemoryCounterStore({ clock: manualClock().clock, maxKeys: 0 }), RangeError);
  });

  it('a store refuses a window that is not a positive whole number of milliseconds', async () => {
    await assert.rejects(store.increment('k', 0), RangeError);
    await assert.rejects(store.increment('k', 1.5), RangeError);
  });
});

describe('memory counter store bounds', () => {
  it('prunes ended windows to make room for new keys', async () => {
    const time = manualClock();
    const store = createMemoryCounterStore({ clock: time.clock, maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) await store.increment(key, 1000);
    time.advance(1000);
    for (const key of ['d', 'e', 'f']) assert.equal((await store.increment(key, 1000)).count, 1);
  });

  it('reuses the slot of a key whose window ended', async () => {
    const time = manualClock();
    const store = createMemoryCounterStore({ clock: time.clock, maxKeys: 1 });
    await store.increment('a', 1000);
    time.advance(1000);
    assert.deepEqual(await store.increment('a', 1000), { count: 1, resetMs: 1000 });
  });

  it('a short window opened after a sweep is still pruned when it ends', async () => {
    const time = manualClock();
    const store = createMemoryCounterStore({ clock: time.clock, maxKeys: 2 });
    await store.increment('long-1', 60_000);
    await store.increment('long-2', 60_000);
    await assert.rejects(store.increment('x', 1000)); // sweeps: nothing ends before 60 s
    await store.reset('long-2');
    await store.increment('short', 1000);
    time.advance(1000);
    assert.equal((await store.increment('y', 1000)).count, 1);
  });
});
