// Readiness: an ordered list of named checks (the database and its schema, then Redis
// when configured), run together. The answer names the first failing check to the log
// only; the client learns nothing but 503.
//
// /readyz draws on no request budget (a budget kept in Redis would turn a Redis outage
// into a readiness answer about the limiter), so a result is reused for CACHE_MS and
// concurrent probes share one run: a flood of /readyz costs at most one database query
// and one Redis PING per second (on a Redis Cluster, one CLUSTER INFO and a PING to each
// primary).
import type { Clock } from '../../core/clock.ts';
import type { Database } from '../../core/db/database.ts';
import { isCurrent, migrationStatus } from '../../core/db/migrate.ts';
import { checkRedis, describeRedisFailure, type RedisClient } from '../../core/redis.ts';

export interface CheckFailure {
  /** Private: logged, never sent. */
  readonly reason: string;
  readonly error?: unknown;
}

export interface ReadinessCheck {
  readonly name: string;
  /** Null when ready. */
  run(): Promise<CheckFailure | null>;
}

export type Readiness = { readonly ready: true } | ({ readonly ready: false; readonly check: string } & CheckFailure);

const CACHE_MS = 1_000;

export function databaseCheck(database: Database): ReadinessCheck {
  return {
    name: 'database',
    async run() {
      try {
        const status = await migrationStatus(database);
        return isCurrent(status) ? null : { reason: `migrations not current: ${JSON.stringify(status)}` };
      } catch (error) {
        return { reason: 'database unreachable', error };
      }
    },
  };
}

export function redisCheck(redis: RedisClient): ReadinessCheck {
  return {
    name: 'redis',
    async run() {
      try {
        // Refused at once while disconnected, abandoned after the command timeout if Redis
        // hangs; a cluster also needs every slot served (checkRedis).
        await checkRedis(redis);
        return null;
      } catch (error) {
        return { reason: 'redis unreachable', error: describeRedisFailure(error) };
      }
    },
  };
}

export function createReadiness(checks: readonly ReadinessCheck[], deps: { clock: Clock }): () => Promise<Readiness> {
  let last: { at: number; result: Readiness } | null = null;
  let running: Promise<Readiness> | null = null;

  async function evaluate(): Promise<Readiness> {
    const failures = await Promise.all(
      checks.map((check) => check.run().catch((error: unknown): CheckFailure => ({ reason: 'check failed', error }))),
    );
    const index = failures.findIndex((failure) => failure !== null);
    const failure = failures[index];
    const check = checks[index];
    return failure === null || failure === undefined || check === undefined ? { ready: true } : { ready: false, check: check.name, ...failure };
  }

  return () => {
    // A clock stepped backwards must not pin an old answer: a negative age is stale too.
    const age = last === null ? Number.POSITIVE_INFINITY : deps.clock().getTime() - last.at;
    if (last !== null && age >= 0 && age < CACHE_MS) return Promise.resolve(last.result);
    running ??= evaluate()
      .then((result) => {
        last = { at: deps.clock().getTime(), result };
        return result;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
}
