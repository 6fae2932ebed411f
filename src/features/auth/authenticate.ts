// Enforces each route's declared access before its handler runs: `public` routes pass,
// every other route needs a valid bearer access token whose session is still alive. Then,
// in order: a user whose roles require a second factor but who has none reaches only the
// enrolment routes; a permission route needs the permission now and, for such a user, a
// session that used a second factor; a step-up route needs a recent authentication.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { AppError } from '../../core/errors.ts';
import { bearerChallenge, unauthorizedChallenge } from '../../core/http/bearer-challenge.ts';
import type { Access } from '../../core/http/route-policy.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { SessionAuthentication } from '../sessions/index.ts';
import type { SessionGate } from './session-gate.ts';

export interface AuthContext {
  readonly userId: string;
  readonly sessionId: string;
  /** From the token: a hint only. Permission checks read current state. */
  readonly roles: readonly string[];
  readonly token: string;
  /** Where the access token came from: the Authorization header, or a browser's session cookie. */
  readonly via: 'bearer' | 'cookie';
  /** How the session was authenticated and when last, as the database says now. */
  readonly authentication: SessionAuthentication;
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<{ sub: string; sid: string; roles: readonly string[] } | null>;
}

/** A browser's session cookie (features/browser-sessions), and its origin and CSRF checks. */
export interface CookieCredentials {
  /** The access token inside the request's session cookie, or null. */
  accessToken(request: FastifyRequest): string | null;
  /** Throws 403 csrf_rejected unless the request comes from an allowed origin with the session's CSRF token. */
  checkSession(request: FastifyRequest, sessionId: string): void;
}

/** Whether a user must use a second factor (their current roles), and whether they have one. */
export interface SecondFactorPolicy {
  stateOf(userId: string): Promise<{ readonly required: boolean; readonly enrolled: boolean }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

// The scheme name is case-insensitive (RFC 7235 §2.1); the token itself is not.
const BEARER = /^bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const MAX_AUTHORIZATION_LENGTH = 4096;

function unauthorized(request: FastifyRequest, detail: string): AppError {
  return new AppError('unauthorized', { detail, headers: unauthorizedChallenge(request.headers.authorization) });
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

// Unmatched paths (404s) have no declaration; every registered route has one (route-policy.ts).
function isOpen(access: Access | undefined): boolean {
  return access === undefined || access === 'public';
}

export interface AuthenticationDeps {
  readonly tokens: AccessTokenVerifier;
  readonly sessions: SessionGate;
  readonly authorizer: Authorizer;
  readonly secondFactors: SecondFactorPolicy;
  readonly cookies: CookieCredentials;
  readonly clock: Clock;
  /** REAUTH_MAX_AGE, in seconds. */
  readonly reauthMaxAge: number;
}

/** Has the session authenticated within `maxAge` seconds? */
export function isRecent(authentication: SessionAuthentication, now: Date, maxAge: number): boolean {
  return now.getTime() - authentication.authTime.getTime() <= maxAge * 1000;
}

async function checkSecondFactor(deps: AuthenticationDeps, request: FastifyRequest, auth: AuthContext): Promise<void> {
  const { config } = request.routeOptions;
  const state = await deps.secondFactors.stateOf(auth.userId);
  if (state.required && !state.enrolled && config.mfaEnrollment !== true) throw new AppError('mfa_enrollment_required', { detail: 'role requires a second factor' });
  if (auth.authentication.amr.includes('mfa')) return;
  if (config.mfaSession === true) throw new AppError('mfa_required', { detail: 'route needs a second-factor session' });
  // Administration (any permission route) by such a user needs a session that used one.
  if (state.required && typeof config.access === 'object') throw new AppError('mfa_required', { detail: 'permission route from a session without a second factor' });
}

export function registerAuthentication(app: FastifyInstance, deps: AuthenticationDeps): void {
  app.decorateRequest('auth', null);
  // preParsing, not onRequest: after the rate limiter's onRequest hook, so an
  // unauthenticated flood is still counted. The body is not parsed until the caller is
  // authenticated.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const { access, recentAuth } = request.routeOptions.config;
    if (isOpen(access)) return payload;
    // An Authorization header decides alone: a request naming a bearer token is never
    // also authenticated by an ambient cookie.
    const via = request.headers.authorization === undefined ? 'cookie' : 'bearer';
    const presented = via === 'bearer' ? bearerToken(request) : deps.cookies.accessToken(request);
    if (presented === null) throw unauthorized(request, via === 'bearer' ? 'malformed bearer token' : 'no bearer token or session cookie');
    const claims = await deps.tokens.verify(presented);
    if (claims === null) throw unauthorized(request, 'access token rejected');
    if (via === 'cookie') deps.cookies.checkSession(request, claims.sid);
    const authentication = await deps.sessions.authentication(claims.sid, claims.sub);
    if (authentication === null) throw unauthorized(request, 'session not active');
    const auth: AuthContext = { userId: claims.sub, sessionId: claims.sid, roles: claims.roles, token: presented, via, authentication };
    request.auth = auth;
    if (typeof access === 'object') {
      // Deny by default: the permission must be held now, whatever the token's roles say.
      const held = await deps.authorizer.permissionsOf(claims.sub);
      if (!held.has(access.permission)) {
        throw new AppError('forbidden', { detail: `lacks ${access.permission}`, headers: bearerChallenge('insufficient_scope') });
      }
    }
    await checkSecondFactor(deps, request, auth);
    if (recentAuth === true && !isRecent(authentication, deps.clock(), deps.reauthMaxAge)) {
      throw new AppError('reauthentication_required', { detail: 'session authenticated too long ago for this action' });
    }
    return payload;
  });
}

/** The authenticated caller of a route declared `authenticated`; a bug otherwise. */
export function requireAuth(request: FastifyRequest): AuthContext {
  if (request.auth === null) throw new AppError('internal_error', { detail: 'route reached without authentication' });
  return request.auth;
}
