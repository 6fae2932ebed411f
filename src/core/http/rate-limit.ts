// Per-client request budgets on every route but the health probes. In memory for one
// process; in Redis when configured, so every instance draws from one budget. A store
// failure fails closed: the request is refused with a 503 and Retry-After (see
// limits/errors.ts), never let through uncounted.
//
// With Redis the plugin counts through the project's own Redis counter store (one Lua
// script, one error classification for every limiter) rather than its built-in one,
// whose raw ioredis errors became 500s.
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
import type { CounterStore } from '../limits/counter-store.ts';
import { createRedisCounterStore } from '../limits/redis-store.ts';
import { clientAddressKey } from './client-address.ts';
import type { AddressCounter } from './client-errors.ts';

export interface RateLimitOptions {
  readonly max: number;
  readonly windowMs: number;
  readonly redis: Redis | null;
}

export function rateLimitKey(request: FastifyRequest): string {
  return clientAddressKey(request.ip);
}

// The plugin passes a child its merged options, with the route under `routeInfo` (its
// typings say otherwise), as its own Redis store reads them.
function routeName(options: object): string {
  const route: unknown = 'routeInfo' in options ? options.routeInfo : null;
  if (typeof route !== 'object' || route === null) return '';
  const method = 'method' in route ? String(route.method) : '';
  const url = 'url' in route ? String(route.url) : '';
  return `${method}${url}`;
}

type IncrementCallback = Parameters<FastifyRateLimitStore['incr']>[1];

/** The plugin's store interface over a CounterStore; a route with its own budget gets its own key space. */
export function pluginStore(store: CounterStore): FastifyRateLimitStoreCtor {
  class CounterStoreAdapter implements FastifyRateLimitStore {
    readonly #prefix: string;
    constructor(_options: unknown, prefix = '') {
      this.#prefix = prefix;
    }
    incr(key: string, callback: IncrementCallback, timeWindow: number): void {
      store.increment(this.#prefix + key, timeWindow).then(
        (window) => { callback(null, { current: window.count, ttl: window.resetMs }); },
        (error: unknown) => { callback(error instanceof Error ? error : new Error('counter store failed')); },
      );
    }
    child(options: object): FastifyRateLimitStore {
      return new CounterStoreAdapter(undefined, `${this.#prefix}${routeName(options)}-`);
    }
  }
  return CounterStoreAdapter;
}

export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: rateLimitKey,
    skipOnError: false,
    enableDraftSpec: true,
    ...(options.redis === null ? {} : { store: pluginStore(createRedisCounterStore(options.redis, { prefix: 'gatehouse:rl:' })) }),
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', {
        detail: `rate limit of ${context.max} exceeded`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
}

/**
 * Counts a request Fastify never parsed (client-errors.ts) against its address's budget,
 * in the same store and under the same key as every other request from that address.
 */
export function addressCounter(app: FastifyInstance): AddressCounter {
  const limit = app.createRateLimit();
  return async (address) => {
    // There is no request: the limiter reads only the address (through rateLimitKey) and
    // the route's rate-limit group, which an unparsed request does not have.
    const request = { ip: address, routeOptions: { config: {} } } as unknown as FastifyRequest;
    const result = await limit(request);
    return result.isAllowed ? { exceeded: false, retryAfterSeconds: 0 } : { exceeded: result.isExceeded, retryAfterSeconds: Math.max(1, result.ttlInSeconds) };
  };
}
