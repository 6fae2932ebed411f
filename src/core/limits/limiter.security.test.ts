// Attacks on request budgets, each test named after the one it blocks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { CounterStore, CounterWindow } from './counter-store.ts';
import { CounterStoreError } from './errors.ts';
import { createLimiter } from './limiter.ts';
import { deleteKeysUnder, manualClock, openTestRedis, randomPrefix, redisTestURL, unreachableRedis } from './limits.fixtures.ts';
import { createMemoryCounterStore } from './memory-store.ts';
import { createRedisCounterStore } from './redis-store.ts';

function failingStore(error: Error): CounterStore {
  return {
    increment(): Promise<CounterWindow> {
      return Promise.reject(error);
    },
    reset(): Promise<void> {
      return Promise.reject(error);
    },
  };
}

describe('request budget attacks', () => {
  it('a counter store that fails refuses the request instead of letting it through uncounted', async () => {
    const limiter = createLimiter(failingStore(new Error('connection reset')), { name: 'login', max: 100, windowMs: 60_000 });
    await assert.rejects(limiter.consume('client-a'), /connection reset/);
  });

  it('a Redis that is down refuses the request instead of letting it through uncounted', async () => {
    const redis = unreachableRedis();
    try {
      const limiter = createLimiter(createRedisCounterStore(redis, { prefix: 'gatehouse:test:' }), { name: 'login', max: 100, windowMs: 60_000 });
      // Classified, so the HTTP layer answers 503 with Retry-After rather than a 500.
      await assert.rejects(limiter.consume('client-a'), (error) => error instanceof CounterStoreError && error.code === 'store_unavailable' && error.retryAfterSeconds !== null);
    } finally {
      redis.disconnect();
    }
  });

  it('a parallel burst on one process cannot exceed the budget', async () => {
    const store = createMemoryCounterStore({ clock: manualClock().clock, maxKeys: 100 });
    const limiter = createLimiter(store, { name: 'login', max: 5, windowMs: 60_000 });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('client-a')));
    assert.equal(decisions.filter((d) => d.allowed).length, 5);
  });

  it('spraying other keys cannot evict the counter of the key under attack', async () => {
    const time = manualClock();
    const store = createMemoryCounterStore({ clock: time.clock, maxKeys: 100 });
    const limiter = createLimiter(store, { name: 'login', max: 3, windowMs: 60_000 });
    for (let hit = 0; hit < 3; hit++) await limiter.consume('victim');
    let refusedAsFull = 0;
    for (let spray = 0; spray < 500; spray++) {
      await limiter.consume(`spray-${spray}`).catch((error: unknown) => {
        assert.ok(error instanceof CounterStoreError && error.code === 'store_full');
        refusedAsFull += 1;
      });
    }
    assert.equal(refusedAsFull, 401);
    assert.equal((await limiter.consume('victim')).allowed, false);
    time.advance(60_000);
    assert.equal((await limiter.consume('victim')).allowed, true);
  });

  it('one limiter exhausted cannot spend or reset another limiter\'s budget for the same key', async () => {
    const store = createMemoryCounterStore({ clock: manualClock().clock, maxKeys: 100 });
    const byAddress = createLimiter(store, { name: 'login-address', max: 1, windowMs: 60_000 });
    const byAccount = createLimiter(store, { name: 'login-account', max: 1, windowMs: 60_000 });
    await byAccount.consume('same-key');
    assert.equal((await byAddress.consume('same-key')).allowed, true);
    await byAddress.reset('same-key');
    assert.equal((await byAccount.consume('same-key')).allowed, false);
  });
});

describe('request budget attacks across instances', { skip: redisTestURL() === null ? 'REDIS_URL_TEST is not set' : false }, () => {
  const prefix = randomPrefix();
  let clients: Redis[] = [];
  before(() => {
    clients = [openTestRedis(redisTestURL() ?? ''), openTestRedis(redisTestURL() ?? '')];
  });
  after(async () => {
    await deleteKeysUnder(clients[0]!, prefix);
    for (const client of clients) client.disconnect();
  });

  it('spreading requests over two instances does not double the budget', async () => {
    const [first, second] = clients.map((client) =>
      createLimiter(createRedisCounterStore(client, { prefix }), { name: 'spread', max: 4, windowMs: 60_000 }),
    );
    const decisions = [];
    for (let hit = 0; hit < 4; hit++) decisions.push(await first!.consume('client-a'), await second!.consume('client-a'));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, true, false, false, false, false]);
  });

  it('a parallel burst across two instances cannot exceed the budget', async () => {
    const limiters = clients.map((client) =>
      createLimiter(createRedisCounterStore(client, { prefix }), { name: 'burst', max: 5, windowMs: 60_000 }),
    );
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => limiters[i % 2]!.consume('client-a')));
    assert.equal(decisions.filter((d) => d.allowed).length, 5);
  });
});
