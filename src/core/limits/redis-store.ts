// Counters in Redis, so every instance draws from one count. One Lua script counts the
// hit, opens the window on the first hit and reads its remaining time: Redis runs a
// script atomically, so two instances can never both see themselves as the first hit,
// and a crash can never leave a counter without an expiry. (The script is Redis data,
// run by Redis; no JavaScript is evaluated.)
import { createHash } from 'node:crypto';
import { describeRedisFailure, type RedisClient } from '../redis.ts';
import { assertWindowMs, type CounterStore, type CounterWindow } from './counter-store.ts';
import { CounterStoreError } from './errors.ts';

export interface RedisCounterStoreOptions {
  /** Prepended to every key, e.g. `gatehouse:rl:`. */
  readonly prefix: string;
}

// A key left without an expiry (written by something else, or PERSISTed) would never
// reset and would block its client for good, so the script repairs it.
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

// Redis names a cached script by its SHA-1; this is an identifier, not a security use.
const INCREMENT_SCRIPT_SHA = createHash('sha1').update(INCREMENT_SCRIPT).digest('hex');

function isMissingScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function toCounterWindow(reply: unknown): CounterWindow {
  if (Array.isArray(reply) && reply.length === 2) {
    const [count, resetMs] = reply as unknown[];
    if (typeof count === 'number' && typeof resetMs === 'number' && count >= 1 && resetMs >= 0) return { count, resetMs };
  }
  throw new CounterStoreError('invalid_reply', 'the Redis counter script returned an unexpected reply');
}

// Whatever ioredis throws (refused at once while disconnected, timed out, dropped with
// the connection, or an error reply) means the count is unknown: the hit is refused as
// `store_unavailable`. Only a scrubbed description is kept: ioredis attaches the
// command's arguments (the limiter key: an address, an email's blind index) to errors.
function storeUnavailable(error: unknown): CounterStoreError {
  const failure = describeRedisFailure(error);
  return new CounterStoreError('store_unavailable', `the Redis counter store failed: ${failure.name}${failure.errorCode === undefined ? '' : ` ${failure.errorCode}`}: ${failure.message}`);
}

export function createRedisCounterStore(redis: RedisClient, options: RedisCounterStoreOptions): CounterStore {
  const { prefix } = options;
  if (prefix === '') throw new RangeError('a Redis counter store needs a key prefix');

  async function runScript(key: string, windowMs: number): Promise<unknown> {
    try {
      return await redis.evalsha(INCREMENT_SCRIPT_SHA, 1, key, windowMs);
    } catch (error) {
      // First use on this server, or after SCRIPT FLUSH / a restart: send the text once.
      if (isMissingScript(error)) return redis.eval(INCREMENT_SCRIPT, 1, key, windowMs);
      throw error;
    }
  }

  return {
    async increment(key: string, windowMs: number): Promise<CounterWindow> {
      assertWindowMs(windowMs);
      let reply: unknown;
      try {
        reply = await runScript(prefix + key, windowMs);
      } catch (error) {
        throw storeUnavailable(error);
      }
      return toCounterWindow(reply);
    },
    async reset(key: string): Promise<void> {
      try {
        await redis.del(prefix + key);
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
  };
}
