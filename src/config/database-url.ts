// DATABASE_URL: which PostgreSQL to use and, in production, proof that the connection
// verifies the server's certificate. Without verification anyone on the path can
// impersonate the database and read every credential hash and session token.
// The rules follow how `pg` (pg-connection-string) reads the URL, so what is checked
// here is what the driver will do.
import { parseHostlessURL } from './parse-urls.ts';
import { accept, refuse, type Parsed } from './parse-values.ts';

export interface DatabaseURL {
  readonly url: string;
  /** The connection goes through a Unix socket, which never leaves the machine. */
  readonly socket: boolean;
  readonly sslmode: SSLMode | null;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
type SSLMode = (typeof SSL_MODES)[number];
const URL_RULE = 'must be a postgres:// or postgresql:// URL';
const VERIFYING_MODES: readonly SSLMode[] = ['verify-full', 'verify-ca'];

function repeatsAParameter(url: URL): boolean {
  const names = [...url.searchParams.keys()];
  return new Set(names).size !== names.length;
}

// pg takes the `host` parameter first, else the URL host, percent-decoded; a path
// (`/run/postgresql`, or `%2Frun%2Fpostgresql` in the host position) is a socket.
function isSocketHost(url: URL, hostless: boolean): boolean {
  const host = url.searchParams.get('host') ?? (hostless ? '' : safeDecode(url.hostname));
  return host.startsWith('/');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function parseDatabaseURL(raw: string): Parsed<DatabaseURL> {
  const parsed = parseHostlessURL(raw);
  if (parsed === null) return refuse(URL_RULE);
  const { url, hostless } = parsed;
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return refuse(URL_RULE);
  // pg keeps the last of a repeated parameter; a check reading the first one could be
  // passed with `?sslmode=verify-full&sslmode=disable`.
  if (repeatsAParameter(url)) return refuse('must not repeat a query parameter');
  const mode = url.searchParams.get('sslmode');
  const sslmode = SSL_MODES.find((candidate) => candidate === mode) ?? null;
  if (mode !== null && sslmode === null) return refuse(`sslmode must be one of ${SSL_MODES.join(', ')}`);
  return accept({ url: raw, socket: isSocketHost(url, hostless), sslmode });
}

/** The production rule for a parsed DATABASE_URL, or null when it holds. */
export function productionDatabaseRule(database: DatabaseURL): string | null {
  if (database.socket) return null;
  if (database.sslmode === null) {
    return 'must set sslmode=verify-full (or verify-ca) in production, unless it connects through a Unix socket';
  }
  if (VERIFYING_MODES.includes(database.sslmode)) return null;
  return `sslmode=${database.sslmode} does not verify the server certificate; use sslmode=verify-full (or verify-ca) in production`;
}
