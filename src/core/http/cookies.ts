// Reading and writing the few cookies the server sets. Only names it knows are read, and
// only values of the base64url alphabet (plus `.`) it writes: anything else is absent,
// never an error, so a hostile Cookie header costs one bounded scan.
import type { FastifyReply, FastifyRequest } from 'fastify';

const MAX_COOKIE_HEADER = 8192;
const VALUE = /^[A-Za-z0-9._-]{1,4000}$/;

/** The value of cookie `name`, or null when absent, repeated or not of our alphabet. */
export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return null;
  let found: string | null = null;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    // Two cookies of one name (a sibling domain planting one): trust neither.
    if (found !== null) return null;
    found = pair.slice(equals + 1).trim();
  }
  return found !== null && VALUE.test(found) ? found : null;
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
  /** Readable by the page's JavaScript (the CSRF token only). */
  readonly script?: boolean;
}

/**
 * A `__Host-` cookie: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2), SameSite=Strict,
 * HttpOnly unless the page must read it. Browsers treat http://localhost and 127.0.0.1 as
 * secure contexts, so this works there in development.
 */
export function hostCookie(name: string, value: string, options: CookieOptions): string {
  if (!name.startsWith('__Host-') || (value !== '' && !VALUE.test(value))) throw new TypeError('a __Host- cookie of our alphabet');
  const parts = [`${name}=${value}`, 'Path=/', 'Secure', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(options.maxAge))}`];
  if (options.script !== true) parts.push('HttpOnly');
  return parts.join('; ');
}

/** Adds Set-Cookie headers to those the reply already carries. */
export function setCookies(reply: FastifyReply, cookies: readonly string[]): void {
  const existing = reply.getHeader('set-cookie');
  const previous = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  void reply.header('set-cookie', [...previous, ...cookies]);
}
