// Every route states who may call it next to its schema, and every route declares its
// response schemas (so nothing undeclared is ever serialized). A route missing either
// stops the server at start-up instead of shipping open by accident.
import type { FastifyInstance, RouteOptions } from 'fastify';

export type Access = 'public' | 'authenticated' | { readonly permission: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * Step-up: the session must have authenticated within REAUTH_MAX_AGE (a sensitive
     * action: change the password, add or remove a factor, change roles, ...); otherwise
     * 401 `reauthentication_required`, and POST /v1/auth/reauthenticate renews it.
     */
    recentAuth?: true;
    /**
     * Open to a user whose roles require a second factor they have not enrolled yet (the
     * enrolment routes, re-authentication, logout); every other route answers them 403
     * `mfa_enrollment_required`.
     */
    mfaEnrollment?: true;
    /** Needs a session that used a second factor, whoever the caller (403 `mfa_required`). */
    mfaSession?: true;
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

/** `isPermission` says which permission names exist; a route naming another fails start-up. */
export function enforceRoutePolicy(app: FastifyInstance, options: { isPermission: (name: string) => boolean }): void {
  app.addHook('onRoute', (route) => {
    if (isPluginRoute(route)) {
      route.config = { ...route.config, access: 'public' };
      return;
    }
    const where = `${String(route.method)} ${route.url}`;
    const access = route.config?.access;
    if (access === undefined) throw new RoutePolicyError(`route ${where} declares no access`);
    // A misspelt permission would be one nobody holds (the route closed to all) or, worse,
    // one a custom role could be given by mistake: refuse it.
    if (typeof access === 'object' && !options.isPermission(access.permission)) {
      throw new RoutePolicyError(`route ${where} names an unknown permission`);
    }
    if (route.schema?.response === undefined) throw new RoutePolicyError(`route ${where} declares no response schema`);
  });
}
