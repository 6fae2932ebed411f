// Liveness (the process answers) and readiness (the database answers with exactly the
// schema this build expects, and Redis answers when configured). Liveness depends on
// nothing outside the process, not even the request budget kept in Redis: an orchestrator
// would otherwise restart healthy instances during a Redis outage. Neither probe draws on
// a request budget (answering costs less than counting); readiness is cached instead
// (readiness.ts). Neither says why it is not ready: that goes to logs.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../../core/clock.ts';
import type { Database } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';
import { createReadiness, databaseCheck, redisCheck } from './readiness.ts';
import type { RedisClient } from '../../core/redis.ts';

const Status = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });

/** A probe that fails is asked again by the orchestrator; this only paces other clients. */
const NOT_READY_RETRY_SECONDS = '5';

export interface HealthRoutesOptions {
  readonly database: Database;
  readonly redis: RedisClient | null;
  readonly clock: Clock;
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { database, redis, clock }) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const readiness = createReadiness([databaseCheck(database), ...(redis === null ? [] : [redisCheck(redis)])], { clock });
  const probe = { access: 'public', rateLimit: false } as const;

  typed.get(
    '/healthz',
    { config: probe, schema: { summary: 'Liveness: the process answers (depends on nothing external)', tags: ['health'], response: responses({ 200: Status }) } },
    async () => ({ status: 'ok' as const }),
  );

  typed.get(
    '/readyz',
    { config: probe, schema: { summary: 'Readiness: the database and Redis answer and migrations are current', tags: ['health'], response: responses({ 200: Status }) } },
    async (request) => {
      const result = await readiness();
      if (!result.ready) {
        request.log.warn({ check: result.check, reason: result.reason, err: result.error }, 'readiness check failed');
        throw new AppError('service_unavailable', {
          detail: `${result.check}: ${result.reason}`,
          headers: { 'retry-after': NOT_READY_RETRY_SECONDS },
        });
      }
      return { status: 'ok' as const };
    },
  );
};
