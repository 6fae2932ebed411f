// URL-valued variables: the public URL the server is reached at, and the URLs of the
// services it connects to (Redis, SMTP). PostgreSQL has its own file for its TLS rules.
import { accept, refuse, type Parsed } from './parse-values.ts';

function tryURL(raw: string): URL | null {
  return URL.canParse(raw) ? new URL(raw) : null;
}

export const PLACEHOLDER_HOST = 'placeholder.invalid';

/**
 * Parses a URL that may have credentials but no host, as PostgreSQL socket URLs do
 * (`postgres://user@/db?host=/run/postgresql`): the URL parser refuses them, so a
 * placeholder host is put in, the way pg-connection-string does. `hostless` says so.
 */
export function parseHostlessURL(raw: string): { readonly url: URL; readonly hostless: boolean } | null {
  if (URL.canParse(raw)) return { url: new URL(raw), hostless: false };
  const placeholder = raw.replace('@/', `@${PLACEHOLDER_HOST}/`);
  if (placeholder === raw || !URL.canParse(placeholder)) return null;
  return { url: new URL(placeholder), hostless: true };
}

/** An absolute http(s) URL without credentials, query or fragment; trailing slashes dropped. */
export function parsePublicURL(raw: string): Parsed<string> {
  const url = tryURL(raw);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return refuse('must be an absolute http:// or https:// URL');
  }
  if (url.username !== '' || url.password !== '') return refuse('must not contain credentials');
  // An empty `?` or `#` survives in the raw text but not in url.search/url.hash.
  if (raw.includes('?') || raw.includes('#')) return refuse('must not contain a query or fragment');
  // Issuer identifiers are compared as exact strings (OpenID Connect Discovery 1.0, 4.3),
  // so one spelling is chosen here: no trailing slash.
  return accept(url.href.replace(/\/+$/, ''));
}

export function publicURLFromListener(host: string, port: number): string {
  const literal = host.includes(':') ? `[${host}]` : host;
  return `http://${literal}:${port}`;
}

/** A connection URL for a service: one of `schemes`, with a host. The text is kept as given. */
export function parseServiceURL(raw: string, schemes: readonly string[]): Parsed<string> {
  const rule = `must be a ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL with a host`;
  const url = tryURL(raw);
  if (url === null || url.hostname === '') return refuse(rule);
  return schemes.includes(url.protocol.slice(0, -1)) ? accept(raw) : refuse(rule);
}
