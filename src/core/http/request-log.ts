// One line per request: id, method, route, status, duration. Never the body, never the
// query string (it may carry a token), never headers.
import type { FastifyInstance } from 'fastify';
import { routePattern } from './route-pattern.ts';

export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: routePattern(request),
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
}
