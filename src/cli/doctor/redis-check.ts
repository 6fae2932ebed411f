// Redis, when configured: it holds the rate-limit budgets every instance shares, and while
// it is down those limits refuse requests (fail closed, docs/operations.md).
import type { Config } from '../../config/config.ts';
import { pass, skip, type Check, type Finding } from './types.ts';

/**
 * Without REDIS_URL each instance counts its own budgets, so N instances allow N times
 * the limits. Whether several run cannot be told from here (PostgreSQL does not say which
 * connections belong to which instance), so an unset REDIS_URL is a skip, not a warning.
 */
export function judgeRedisUnset(config: Pick<Config, 'database'>): Finding {
  if (config.database.engine === 'pglite') return skip('REDIS_URL unset; the embedded database allows one instance, which needs no Redis');
  return skip('REDIS_URL unset: rate limits are counted per instance; set REDIS_URL if more than one instance runs');
}

export const redisCheck: Check = {
  name: 'redis',
  dependsOn: ['configuration'],
  async run(context) {
    const redis = await context.redis();
    if (redis === null) return judgeRedisUnset(context.config());
    const started = performance.now();
    await redis.ping();
    return pass(`reachable (PING answered in ${Math.max(1, Math.round(performance.now() - started))} ms)`);
  },
};
