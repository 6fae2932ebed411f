// Cookie sessions for browsers beside the bearer API. A client opts in per request with
// `Gatehouse-Session: cookie` on the routes that sign in or refresh (a custom header, so a
// cross-origin page cannot send it without a CORS preflight the allowlist refuses); the
// answer then sets the session's cookies (cookies.ts) and its body carries no token. A
// request without an Authorization header is then authenticated by the session cookie,
// under the origin and CSRF checks of guard.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readCookie, setCookies } from '../../core/http/cookies.ts';
import { createSessionCookies, DEVICE_COOKIE, REFRESH_COOKIE, SESSION_COOKIE, type SessionCookies } from './cookies.ts';
import { createBrowserGuard, type BrowserGuard } from './guard.ts';

export const SESSION_MODE_HEADER = 'gatehouse-session';

export interface BrowserSessions {
  readonly cookies: SessionCookies;
  readonly guard: BrowserGuard;
  /**
   * Did the client ask for a cookie session? If so, the request must come from an allowed
   * origin (login CSRF: a forged login would sign the victim into the attacker's account).
   */
  cookieMode(request: FastifyRequest): boolean;
  /** The access token in the request's session cookie, or null (for the authentication hook). */
  accessToken(request: FastifyRequest): string | null;
  refreshToken(request: FastifyRequest): string | null;
  deviceToken(request: FastifyRequest): string | null;
  /** Sets a signed-in browser's cookies on the reply. */
  signIn(reply: FastifyReply, tokens: { accessToken: string; refreshToken: string; sessionId: string; deviceToken?: string }): void;
  /** Deletes the session's cookies (logout, a refused refresh). */
  clear(reply: FastifyReply): void;
}

export function createBrowserSessions(deps: {
  key: Buffer;
  publicURL: string;
  allowedOrigins: '*' | readonly string[];
  lifetimes: { accessSeconds: number; refreshSeconds: number };
}): BrowserSessions {
  const cookies = createSessionCookies(deps.key, deps.lifetimes);
  const guard = createBrowserGuard({ publicURL: deps.publicURL, allowedOrigins: deps.allowedOrigins, cookies });
  return {
    cookies,
    guard,
    cookieMode(request) {
      if (request.headers[SESSION_MODE_HEADER] !== 'cookie') return false;
      guard.checkOrigin(request);
      return true;
    },
    accessToken(request) {
      const value = readCookie(request, SESSION_COOKIE);
      return value === null ? null : cookies.openAccess(value);
    },
    refreshToken: (request) => readCookie(request, REFRESH_COOKIE),
    deviceToken: (request) => readCookie(request, DEVICE_COOKIE),
    signIn(reply, tokens) {
      setCookies(reply, cookies.signedIn(tokens));
    },
    clear(reply) {
      setCookies(reply, cookies.cleared());
    },
  };
}
