// Cross-site request forgery defences for cookie-authenticated requests (bearer requests
// carry their credential explicitly and are not affected):
// 1. Origin: a browser says where a request comes from (`Origin`, and `Sec-Fetch-Site`
//    in every current browser). Cookie authentication is refused for a cross-site request,
//    and for an Origin that is neither PUBLIC_URL's nor in CORS_ORIGINS ("*" never counts).
//    A state-changing request must name its origin.
// 2. CSRF token (OWASP signed double submit): a state-changing request carries the
//    `__Host-gh_csrf` cookie's value in `X-CSRF-Token`; the value is bound to the session
//    by an HMAC (cookies.ts), so only a page of this origin, which can read the cookie,
//    can send it.
// SameSite=Strict on every session cookie is a third layer: browsers do not send them
// cross-site at all.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import { readCookie } from '../../core/http/cookies.ts';
import { CSRF_COOKIE, type SessionCookies } from './cookies.ts';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface BrowserGuard {
  /** The origin check alone: for routes that set cookies before a session exists (login) or without one (refresh). */
  checkOrigin(request: FastifyRequest): void;
  /** Both checks for a request authenticated by the session cookie of `sessionId`. */
  checkSession(request: FastifyRequest, sessionId: string): void;
}

function refused(detail: string): AppError {
  return new AppError('csrf_rejected', { detail });
}

export function createBrowserGuard(deps: { publicURL: string; allowedOrigins: '*' | readonly string[]; cookies: SessionCookies }): BrowserGuard {
  const own = new URL(deps.publicURL).origin;
  const allowed = new Set(deps.allowedOrigins === '*' ? [own] : [own, ...deps.allowedOrigins]);
  function checkOrigin(request: FastifyRequest): void {
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    if (site === 'cross-site') throw refused('cross-site request with cookies');
    if (typeof origin === 'string') {
      if (!allowed.has(origin)) throw refused('origin not allowed for cookie sessions');
      return;
    }
    if (!SAFE_METHODS.has(request.method)) throw refused('state-changing cookie request without Origin');
    // A top-level navigation or a same-origin read; a browser names anything else.
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw refused('safe cookie request from another site');
  }
  return {
    checkOrigin,
    checkSession(request, sessionId) {
      checkOrigin(request);
      if (SAFE_METHODS.has(request.method)) return;
      const header = request.headers['x-csrf-token'];
      const cookie = readCookie(request, CSRF_COOKIE);
      if (typeof header !== 'string' || cookie === null || header !== cookie || !deps.cookies.verifyCSRF(header, sessionId)) {
        throw refused('missing or wrong CSRF token');
      }
    },
  };
}
