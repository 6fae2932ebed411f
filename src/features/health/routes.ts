// Liveness (the process answers) and readiness (the database answers and its schema is
// exactly what this build expects). Neither says why it is not ready: that goes to logs.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../core/db/database.ts';
import { isCurrent, migrationStatus } from '../../core/db/migrate.ts';
import { AppError } from '../../core/errors.ts';
import { responses } from '../../core/http/problem.ts';

const Status = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });

export const healthRoutes: FastifyPluginAsync<{ database: Database }> = async (app, { database }) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'Liveness: the process answers', tags: ['health'], response: responses({ 200: Status }) } },
    async () => ({ status: 'ok' as const }),
  );

  typed.get(
    '/readyz',
    { config: { access: 'public' }, schema: { summary: 'Readiness: the database answers and migrations are current', tags: ['health'], response: responses({ 200: Status }) } },
    async (request) => {
      try {
        const status = await migrationStatus(database);
        if (!isCurrent(status)) {
          throw new AppError('service_unavailable', { detail: `migrations not current: ${JSON.stringify(status)}` });
        }
      } catch (error) {
        if (error instanceof AppError) throw error;
        request.log.warn({ err: error }, 'readiness check failed');
        throw new AppError('service_unavailable', { detail: 'database unreachable' });
      }
      return { status: 'ok' as const };
    },
  );
};
