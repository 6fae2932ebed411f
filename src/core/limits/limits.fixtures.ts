// Shared by the limiter tests: a clock the test moves by hand, and a Redis connection
// under a random key prefix that is emptied afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';

export interface ManualClock {
  readonly clock: Clock;
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2030, 0, 2, 3, 4, 5)): ManualClock {
  let now = start;
  return {
    clock: () => new Date(now),
    advance(ms: number): void {
      now += ms;
    },
  };
}

export function redisTestURL(): string | null {
  const url = process.env['REDIS_URL_TEST'];
  return url === undefined || url === '' ? null : url;
}

export function openTestRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
}

/** A prefix no other test run shares, so parallel runs never count each other's hits. */
export function randomPrefix(): string {
  return `gatehouse:test:${randomBytes(8).toString('hex')}:`;
}

export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}

/** A Redis that cannot be reached: every command rejects at once, as when the server is down. */
export function unreachableRedis(): Redis {
  return new Redis({
    host: '127.0.0.1',
    port: 1,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
