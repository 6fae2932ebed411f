// What a request is called in logs and metric labels: the matched route's pattern
// (`/v1/me/sessions/:id`), never the raw path, so ids in paths stay out of both and a
// label has as many values as there are routes, not as many as there are requests.
import type { FastifyRequest } from 'fastify';

/** The route pattern, or `unmatched` for requests no route matched (404, 405). */
export function routePattern(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}
