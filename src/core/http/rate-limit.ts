// Per-client request budgets on every route. In memory for one process; in Redis when
// configured, so every instance draws from one budget. A store failure fails closed
// (the request errors) rather than letting traffic through uncounted.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
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

export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: rateLimitKey,
    skipOnError: false,
    enableDraftSpec: true,
    nameSpace: 'gatehouse:rl:',
    ...(options.redis === null ? {} : { redis: options.redis }),
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
