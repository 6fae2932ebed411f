// GET /metrics on the public port, for a scraper holding METRICS_TOKEN. The route is
// declared public so the user-token authentication skips it, and checks its own token;
// it stays under the global rate limit like every other route.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Registry } from 'prom-client';
import { AppError } from '../../core/errors.ts';
import { unauthorizedChallenge } from '../../core/http/bearer-challenge.ts';
import { responses } from '../../core/http/problem.ts';
import { createScrapeTokenCheck } from './scrape-token.ts';

export interface MetricsRouteOptions {
  readonly registry: Registry;
  /** METRICS_TOKEN; null leaves the public port without /metrics. */
  readonly token: string | null;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, options) => {
  // No token, no route: /metrics then answers exactly as any unknown path does (404),
  // so the public port does not even say it could serve metrics. METRICS_PORT, when
  // set, serves them on loopback instead (listener.ts).
  if (options.token === null) return;
  const { registry } = options;
  const presentsToken = createScrapeTokenCheck(options.token);

  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      // A string body with a text/plain type is sent as is, not serialized as JSON.
      schema: { hide: true, response: responses({ 200: Type.String() }) },
    },
    async (request, reply) => {
      if (!presentsToken(request.headers.authorization)) {
        throw new AppError('unauthorized', { detail: 'metrics token missing or wrong', headers: unauthorizedChallenge(request.headers.authorization) });
      }
      const body = await registry.metrics();
      return reply.type(registry.contentType).header('cache-control', 'no-store').send(body);
    },
  );
};
