// Request budgets. A route declares its limits beside its schema and access, in
// Fastify's `config.rateLimit` shape:
//
//   config: { access: 'public', rateLimit: [limits.address, limits.account] }
//
// and they are counted here and nowhere else, in the stores of limits/stores.ts (memory,
// or one Redis namespace). Every route also draws on the global per-address budget,
// unless it declares `rateLimit: false` (the health probes). A limit is one budget by
// its name: every route that declares it draws on the same count (`/v1/users/:id` is one
// route, whatever the id).
//
// Each limit is counted as soon as its key is known: the global one and those keyed by
// address alone in onRequest, before authentication and before the body is read; those
// keyed by the body or the signed-in user in preHandler, after both. Limits are counted
// in order and the first one spent refuses the request (429 `rate_limited`), so a refused
// request spends nothing further. The response's RateLimit headers name that limit
// (rate-limit-headers.ts). A store that cannot count throws (limits/errors.ts): the
// request is refused with a 503 and Retry-After, never let through uncounted.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from '../errors.ts';
import { createLimiter, type Limiter } from '../limits/limiter.ts';
import type { CounterStores } from '../limits/stores.ts';
import { clientAddressKey } from './client-address.ts';
import type { AddressCounter } from './client-errors.ts';
import { isMoreRestrictive, rateLimitHeaders, type LimitReport } from './rate-limit-headers.ts';
import { RoutePolicyError } from './route-policy.ts';

/**
 * What a limit counts by:
 * - `address`: the client's address (IPv6 per /64; client-address.ts);
 * - `account`: the signed-in user on a route that needs one, else the blind index of `body.email`;
 * - `address+account`: both, so one address guessing at one account has a budget of its own;
 * - `recipient`: the blind index of `body.email`, whoever asks (mail to one inbox).
 */
export type LimitKey = 'address' | 'account' | 'address+account' | 'recipient';

export interface RouteLimit {
  /** Names the budget in headers, logs and store keys: letters, digits, `_`, `.`, `-`. */
  readonly name: string;
  readonly key: LimitKey;
  /** Requests allowed per key in one window. */
  readonly max: number;
  /** Whole seconds, in milliseconds. */
  readonly windowMs: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Limits on top of the global one, counted in order; `false`: no budget at all (health probes). */
    rateLimit?: false | readonly RouteLimit[];
  }
  interface FastifyRequest {
    /** The limit reported in this response's RateLimit headers so far. */
    rateLimitReport: LimitReport | null;
  }
}

export interface RateLimitOptions {
  /** The per-address budget of every route. */
  readonly global: { readonly max: number; readonly windowMs: number };
  readonly stores: CounterStores;
  /** The blind index of an email address: keys never hold the address itself. */
  readonly emailIndex: (email: string) => string;
  /** The signed-in user, once authentication has run (before the body is read); null on public routes. */
  readonly signedInUser: (request: FastifyRequest) => string | null;
}

export interface RateLimits {
  /** Counts a request Fastify never parsed (client-errors.ts) against its address's global budget. */
  readonly countAddress: AddressCounter;
}

export const GLOBAL_LIMIT_NAME = 'global';

const NEEDS_BODY_EMAIL: ReadonlySet<LimitKey> = new Set(['recipient']);
const NEEDS_ACCOUNT: ReadonlySet<LimitKey> = new Set(['account', 'address+account']);

function declaresBodyEmail(route: RouteOptions): boolean {
  const body: unknown = route.schema?.body;
  if (typeof body !== 'object' || body === null || !('properties' in body)) return false;
  const properties: unknown = body.properties;
  return typeof properties === 'object' && properties !== null && 'email' in properties;
}

/** A key that needs `body.email` must be declared on a route whose schema has one, or the server does not start. */
function checkKeySource(route: RouteOptions, limit: RouteLimit): void {
  const isPublic = route.config?.access === 'public';
  const needsEmail = NEEDS_BODY_EMAIL.has(limit.key) || (NEEDS_ACCOUNT.has(limit.key) && isPublic);
  if (needsEmail && !declaresBodyEmail(route)) {
    throw new RoutePolicyError(`route ${String(route.method)} ${route.url}: limit ${limit.name} is keyed by ${limit.key} but the body declares no email`);
  }
}

function sameLimit(a: RouteLimit, b: RouteLimit): boolean {
  return a.key === b.key && a.max === b.max && a.windowMs === b.windowMs;
}

function bodyEmail(request: FastifyRequest): string {
  const body: unknown = request.body;
  const email = typeof body === 'object' && body !== null && 'email' in body ? body.email : undefined;
  // Validated by the route's schema before preHandler; checked at start-up that it declares one.
  if (typeof email !== 'string') throw new AppError('internal_error', { detail: 'rate limit keyed by a body without email' });
  return email;
}

export function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): RateLimits {
  const limiters = new Map<string, { readonly limit: RouteLimit; readonly limiter: Limiter }>();

  function define(limit: RouteLimit): void {
    const known = limiters.get(limit.name);
    if (known !== undefined) {
      // One name is one budget: two routes cannot count it differently.
      if (!sameLimit(known.limit, limit)) throw new RoutePolicyError(`limit ${limit.name} is declared twice with different settings`);
      return;
    }
    if (limit.windowMs % 1000 !== 0) throw new RoutePolicyError(`limit ${limit.name}: the window must be whole seconds`);
    limiters.set(limit.name, { limit, limiter: createLimiter(options.stores(limit.name), limit) });
  }

  const global: RouteLimit = { name: GLOBAL_LIMIT_NAME, key: 'address', ...options.global };
  define(global);

  function account(request: FastifyRequest): string {
    const user = options.signedInUser(request);
    return user === null ? `email:${options.emailIndex(bodyEmail(request))}` : `user:${user}`;
  }

  function keyOf(limit: RouteLimit, request: FastifyRequest): string {
    switch (limit.key) {
      case 'address': return clientAddressKey(request.ip);
      case 'account': return account(request);
      case 'address+account': return `${clientAddressKey(request.ip)}|${account(request)}`;
      case 'recipient': return `email:${options.emailIndex(bodyEmail(request))}`;
    }
  }

  function refusal(report: LimitReport): AppError {
    return new AppError('rate_limited', { detail: `limit ${report.limit.name}`, headers: rateLimitHeaders(report) });
  }

  async function count(declared: RouteLimit, key: string): Promise<LimitReport> {
    const entry = limiters.get(declared.name);
    if (entry === undefined) throw new AppError('internal_error', { detail: `limit ${declared.name} was never declared` });
    return { limit: entry.limit, decision: await entry.limiter.consume(key) };
  }

  async function spend(request: FastifyRequest, reply: FastifyReply, limits: readonly RouteLimit[]): Promise<void> {
    for (const limit of limits) {
      const report = await count(limit, keyOf(limit, request));
      if (!report.decision.allowed) throw refusal(report);
      if (isMoreRestrictive(report, request.rateLimitReport)) {
        request.rateLimitReport = report;
        void reply.headers(rateLimitHeaders(report));
      }
    }
  }

  app.decorateRequest('rateLimitReport', null);
  app.addHook('onRoute', (route) => {
    const declared = route.config?.rateLimit;
    if (declared === undefined || declared === false) return;
    for (const limit of declared) {
      if (limit.name === GLOBAL_LIMIT_NAME) throw new RoutePolicyError(`limit name ${GLOBAL_LIMIT_NAME} is reserved`);
      define(limit);
      checkKeySource(route, limit);
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    const declared = request.routeOptions.config.rateLimit;
    if (declared === false) return;
    await spend(request, reply, [global, ...(declared ?? []).filter((limit) => limit.key === 'address')]);
  });
  app.addHook('preHandler', async (request, reply) => {
    const declared = request.routeOptions.config.rateLimit;
    if (declared === undefined || declared === false) return;
    await spend(request, reply, declared.filter((limit) => limit.key !== 'address'));
  });

  return {
    async countAddress(address) {
      const report = await count(global, clientAddressKey(address));
      return report.decision.allowed ? null : refusal(report);
    },
  };
}
