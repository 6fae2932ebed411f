// Times every answered request and counts the 429s. onResponse sees every answer, those
// of the rate limiter's hooks and the 404 handler included, so nothing refused early is
// missed.
import type { FastifyInstance } from 'fastify';
import { routePattern } from '../http/route-pattern.ts';
import type { Metrics } from './metrics.ts';

// Unmatched requests may carry any method Node's parser accepts; only these become labels.
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function registerHTTPMetrics(app: FastifyInstance, metrics: Pick<Metrics, 'httpDuration' | 'rateLimited'>): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = routePattern(request);
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.httpDuration.observe({ method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode === 429) metrics.rateLimited.inc({ route });
  });
}
