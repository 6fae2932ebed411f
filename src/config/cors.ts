// CORS_ORIGINS: the exact browser origins allowed to call the API cross-origin. Origins
// are compared as exact strings, so each entry must be exactly what a browser sends in
// the Origin header: scheme, host and non-default port, nothing else.
import { accept, refuse, type Parsed } from './parse-values.ts';

export type CORSOrigins = '*' | readonly string[];

const ENTRY_RULE = 'must be an origin such as https://app.example.com (scheme, host, optional port; no path, no wildcard)';

function parseOrigin(entry: string): string | null {
  if (!URL.canParse(entry)) return null;
  const url = new URL(entry);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  // `https://*.example.com` parses, with a literal `*` host that matches nothing a
  // browser sends; refusing it tells the operator wildcards are not supported.
  if (url.hostname.includes('*') || url.username !== '' || url.password !== '') return null;
  // The origin plus the path the URL parser adds is the only accepted spelling.
  return `${url.origin}/` === url.href && !entry.endsWith('/') ? url.origin : null;
}

export function parseCORSOrigins(raw: string): Parsed<CORSOrigins> {
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 1 && entries[0] === '*') return accept('*');
  if (entries.includes('*')) return refuse('* must be used alone, not in a list');
  const origins: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const origin = parseOrigin(entry);
    if (origin === null) return refuse(`entry ${index + 1} ${ENTRY_RULE}`);
    if (!origins.includes(origin)) origins.push(origin);
  }
  return accept(origins);
}
