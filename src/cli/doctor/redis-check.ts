// Redis, when configured: it holds the rate-limit budgets every instance shares, and while
// it is down those limits refuse requests (fail closed, docs/operations.md).
import type { Config } from '../../config/config.ts';
import { checkRedis, isRedisCluster } from '../../core/redis.ts';
import { fail, pass, skip, warn, type Check, type Finding } from './types.ts';

/**
 * Without REDIS_URL each instance counts its own budgets, so N instances allow N times
 * the limits. Whether several run cannot be told from here (PostgreSQL does not say which
 * connections belong to which instance), so an unset REDIS_URL is a skip, not a warning;
 * except with WORKERS above 1, which are several instances by definition.
 */
export function judgeRedisUnset(config: Pick<Config, 'database' | 'workers' | 'environment'>): Finding {
  if (config.database.engine === 'pglite') return skip('REDIS_URL unset; the embedded database allows one instance, which needs no Redis');
  if (config.workers > 1) {
    const summary = `REDIS_URL unset with WORKERS=${config.workers}: each worker counts the rate limits on its own, so clients get ${config.workers} times the budgets`;
    const fix = 'set REDIS_URL, so every worker counts against the same budgets';
    return config.environment === 'production' ? fail(summary, fix) : warn(summary, fix);
  }
  return skip('REDIS_URL unset: rate limits are counted per instance; set REDIS_URL if more than one instance runs');
}

export const redisCheck: Check = {
  name: 'redis',
  dependsOn: ['configuration'],
  async run(context) {
    const redis = await context.redis();
    if (redis === null) return judgeRedisUnset(context.config());
    const started = performance.now();
    await checkRedis(redis);
    const ms = Math.max(1, Math.round(performance.now() - started));
    return pass(isRedisCluster(redis) ? `cluster reachable (state ok, every primary answered PING in ${ms} ms)` : `reachable (PING answered in ${ms} ms)`);
  },
};
