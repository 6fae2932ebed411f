// Every route states who may call it next to its schema, and every route declares its
// response schemas (so nothing undeclared is ever serialized). A route missing either
// stops the server at start-up instead of shipping open by accident.
import type { FastifyInstance, RouteOptions } from 'fastify';

export type Access = 'public' | 'authenticated' | { readonly permission: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export class RoutePolicyError extends Error {
  override readonly name = 'RoutePolicyError';
}

// Routes that trusted plugins add: the docs page's static assets, and the CORS
// preflight handler (which answers only what the CORS allowlist permits).
function isPluginRoute(route: RouteOptions): boolean {
  return route.url.startsWith('/docs') || (route.method === 'OPTIONS' && route.url === '*');
}

export function enforceRoutePolicy(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (isPluginRoute(route)) {
      route.config = { ...route.config, access: 'public' };
      return;
    }
    const where = `${String(route.method)} ${route.url}`;
    const access = route.config?.access;
    if (access === undefined) throw new RoutePolicyError(`route ${where} declares no access`);
    // Until permission checks exist, a route asking for one must not quietly run as
    // merely "authenticated".
    if (typeof access === 'object') throw new RoutePolicyError(`route ${where} needs permission checks, which are not available yet`);
    if (route.schema?.response === undefined) throw new RoutePolicyError(`route ${where} declares no response schema`);
  });
}
