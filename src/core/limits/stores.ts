// Where every rate limit counts. With Redis (one node or a cluster): one store under one
// key namespace, `gatehouse:rl:<limit>:{<key>}`, shared by every instance; the key (the
// subject: an address, an account) is a Redis Cluster hash tag, so all of a subject's
// limits share a slot (redis-store.ts). In memory: a bounded store per limit, so a flood
// of keys in one limit (random recipient addresses, say) cannot fill the store another
// limit (the per-address one) needs; a full store refuses with a 503 for its own limit
// only.
import type { Clock } from '../clock.ts';
import type { CounterStore } from './counter-store.ts';
import { createMemoryCounterStore } from './memory-store.ts';
import { createRedisCounterStore } from './redis-store.ts';
import type { RedisClient } from '../redis.ts';

export const RATE_LIMIT_KEY_PREFIX = 'gatehouse:rl:';

/** The store a limit counts in, by the limit's name. */
export type CounterStores = (limitName: string) => CounterStore;

export interface CounterStoresOptions {
  readonly redis: RedisClient | null;
  readonly clock: Clock;
  /** The most live keys one limit holds in memory. */
  readonly maxKeysPerLimit: number;
}

export function createCounterStores(options: CounterStoresOptions): CounterStores {
  const { redis, clock, maxKeysPerLimit } = options;
  if (redis !== null) {
    const shared = createRedisCounterStore(redis, { prefix: RATE_LIMIT_KEY_PREFIX });
    return () => shared;
  }
  const stores = new Map<string, CounterStore>();
  return (limitName) => {
    let store = stores.get(limitName);
    if (store === undefined) {
      store = createMemoryCounterStore({ clock, maxKeys: maxKeysPerLimit });
      stores.set(limitName, store);
    }
    return store;
  };
}
