// 404 for unknown paths, 405 (with Allow) for a known path and another method. Route
// patterns are matched segment by segment, never compiled into regular expressions.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';
import { sendProblem } from './errors.ts';
import { frameworkRefusalOf } from './framework-errors.ts';

interface KnownRoute {
  readonly segments: readonly string[];
  readonly methods: Set<string>;
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.at(-1) === '*') return path.length >= pattern.length - 1 && pattern.slice(0, -1).every((seg, i) => seg.startsWith(':') || seg === path[i]);
  return pattern.length === path.length && pattern.every((seg, i) => seg.startsWith(':') || seg === path[i]);
}

function splitPath(url: string): string[] {
  const [path = ''] = url.split('?');
  return path.split('/').filter((segment) => segment !== '');
}

export function registerNotFound(app: FastifyInstance): void {
  const known = new Map<string, KnownRoute>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const entry = known.get(route.url) ?? { segments: splitPath(route.url), methods: new Set<string>() };
    for (const method of methods) entry.methods.add(method.toUpperCase());
    known.set(route.url, entry);
  });

  // The rate limiter's onRequest hook counts these too (rate-limit.ts).
  app.setNotFoundHandler((request, reply) => {
    // A request Fastify's router refused (framework-errors.ts), answered through the error handler.
    const refusal = frameworkRefusalOf(request.raw);
    if (refusal !== undefined) throw refusal;
    const path = splitPath(request.url);
    const allowed = new Set<string>();
    for (const route of known.values()) {
      if (matches(route.segments, path)) for (const method of route.methods) allowed.add(method);
    }
    // A wildcard route that does hold this method found nothing behind it (a file that is
    // not there): that is a 404, not a 405.
    if (allowed.size > 0 && !allowed.has(request.method)) {
      const allow = [...allowed].sort().join(', ');
      return sendProblem(reply, request, new AppError('method_not_allowed', { headers: { allow } }));
    }
    return sendProblem(reply, request, new AppError('not_found'));
  });
}
