// Tells a database that cannot be reached (down, restarting, failing over, refusing
// connections) from a query that is wrong. The first is the caller's to retry and
// answers 503 with Retry-After; the second is a bug and stays a 500.

// SQLSTATEs that mean "this connection or the server is gone, try again", not "this query
// is wrong": class 08 (connection exception), operator intervention 57P01 admin_shutdown,
// 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, recovery),
// and 53300 too_many_connections.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

// Socket errors on the way to the server (refused while it restarts, reset by a failover,
// a host that does not resolve while its container is down).
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// pg, pg-pool and PGlite raise these as plain Errors without a code; matched exactly, so
// an unrelated message can never be taken for an outage.
const UNAVAILABLE_MESSAGES = new Map([
  ['Connection terminated unexpectedly', 'connection_terminated'],
  ['Connection terminated', 'connection_terminated'],
  ['Connection terminated due to connection timeout', 'connect_timeout'],
  ['timeout exceeded when trying to connect', 'connect_timeout'],
  ['Client has encountered a connection error and is not queryable', 'connection_lost'],
  ['PGlite is closed', 'pglite_closed'],
]);

const MAX_DEPTH = 4;

function codeOf(error: object): string | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

function reasonOf(error: unknown, depth: number): string | null {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return null;
  const code = codeOf(error);
  if (code !== null && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) {
    return code;
  }
  if (error instanceof Error) {
    const known = UNAVAILABLE_MESSAGES.get(error.message);
    if (known !== undefined) return known;
  }
  // A refused connect to a name with several addresses is an AggregateError of each
  // attempt; a wrapped error keeps the driver's as its cause.
  if (error instanceof AggregateError) {
    for (const inner of error.errors.slice(0, MAX_DEPTH)) {
      const reason = reasonOf(inner, depth + 1);
      if (reason !== null) return reason;
    }
  }
  return error instanceof Error ? reasonOf(error.cause, depth + 1) : null;
}

/**
 * Why the database is unreachable, as a short label safe to log (a SQLSTATE, an errno
 * name or a fixed word, never a message, host or URL); null when `error` is anything else.
 */
export function databaseUnavailableReason(error: unknown): string | null {
  return reasonOf(error, 0);
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return databaseUnavailableReason(error) !== null;
}
