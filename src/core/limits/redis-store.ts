// Counters in Redis, so every instance draws from one count. One Lua script counts the
// hit, opens the window on the first hit and reads its remaining time: Redis runs a
// script atomically, so two instances can never both see themselves as the first hit,
// and a crash can never leave a counter without an expiry. (The script is Redis data,
// run by Redis; no JavaScript is evaluated.) The script touches one key, so it runs as
// well on a Redis Cluster, on the node that serves the key's slot.
import { createHash } from 'node:crypto';
import { describeRedisFailure, type RedisClient } from '../redis.ts';
import { assertWindowMs, type CounterStore, type CounterWindow } from './counter-store.ts';
import { CounterStoreError } from './errors.ts';

export interface RedisCounterStoreOptions {
  /** Prepended to every key, e.g. `gatehouse:rl:`; without `{` or `}` (it must not hold the hash tag). */
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

/**
 * The Redis key of a limiter's `<limit>:<subject>` (limiter.ts: a limit name has no `:`),
 * as `<prefix><limit>:{<subject>}`. The braces are a Redis Cluster hash tag: only the
 * subject decides the slot, so every limit of one subject (an address's global and
 * login budgets, say) lives on one node, and a script over several of them stays legal on
 * a cluster. Redis takes the text up to the first `}` after the first `{` as the tag, so
 * `%`, `{` and `}` in a subject are written %25, %7B and %7D (subjects are addresses and
 * base64url blind indexes, but an address is what a trusted proxy says it is): the tag is
 * always the whole subject, and two subjects never share a key. An empty subject is
 * written `%`, which no escaped subject can be, so the tag is never empty (an empty tag
 * hashes the whole key).
 */
export function redisCounterKey(prefix: string, key: string): string {
  const colon = key.indexOf(':');
  const limit = colon === -1 ? '' : key.slice(0, colon + 1);
  const subject = colon === -1 ? key : key.slice(colon + 1);
  const escaped = subject.replace(/[%{}]/g, (char) => (char === '%' ? '%25' : char === '{' ? '%7B' : '%7D'));
  return `${prefix}${limit}{${escaped === '' ? '%' : escaped}}`;
}

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
  if (/[{}]/.test(prefix)) throw new RangeError('a Redis counter store prefix must not contain { or }');

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
        reply = await runScript(redisCounterKey(prefix, key), windowMs);
      } catch (error) {
        throw storeUnavailable(error);
      }
      return toCounterWindow(reply);
    },
    async reset(key: string): Promise<void> {
      try {
        await redis.del(redisCounterKey(prefix, key));
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
  };
}
