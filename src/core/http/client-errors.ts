// Requests Node's HTTP parser refuses before Fastify sees them: headers over the 16 KiB
// limit (431), a request that took too long to arrive (408), or bytes that are not HTTP
// (400). There is no request or response object, only the socket, so the answer is
// written by hand, still as problem details with the security headers, a fresh request
// id and a log line, and, where the peer is the client itself, counted by the rate
// limiter (and answered 429 once the budget is spent).
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { uuidv7 } from '../crypto/ids.ts';
import { AppError, toProblem } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { nodeHttp } from './node-http.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

const { STATUS_CODES } = nodeHttp;

/** Counts one request against an address's budget: the refusal to answer once it is spent, else null. */
export type AddressCounter = (address: string) => Promise<AppError | null>;

export interface ClientErrorDeps {
  readonly log: Logger;
  /** Security headers for every response (security-headers.ts). */
  readonly headers: OutgoingHttpHeaders;
  /** How long a counter may take before the refusal is answered uncounted. */
  readonly countTimeoutMs?: number;
}

export interface ClientErrorHandling {
  /** Fastify's `clientErrorHandler` option. */
  readonly handle: (error: Error & { code?: string }, socket: Socket) => void;
  /** Set once the rate limiter exists; left unset behind a proxy, where the peer is not the client. */
  countWith(counter: AddressCounter): void;
}

function refusalFor(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW') return new AppError('headers_too_large');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('request_timeout');
  return new AppError('invalid_request');
}

function headerLines(headers: OutgoingHttpHeaders): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) lines += `${name}: ${String(item)}\r\n`;
  }
  return lines;
}

function responseText(error: AppError, requestId: string, headers: OutgoingHttpHeaders): string {
  const body = JSON.stringify(toProblem(error, requestId));
  const all: OutgoingHttpHeaders = {
    ...headers,
    ...error.headers,
    'cache-control': 'no-store',
    pragma: 'no-cache',
    [REQUEST_ID_HEADER]: requestId,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  return `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\n${headerLines(all)}\r\n${body}`;
}

async function countWithin(counter: AddressCounter | null, address: string | undefined, timeoutMs: number): Promise<AppError | null> {
  if (counter === null || address === undefined) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, null);
  });
  try {
    return await Promise.race([counter(address), timeout]);
  } catch {
    // A failing store leaves the request uncounted, but it is refused all the same.
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export function createClientErrorHandling(deps: ClientErrorDeps): ClientErrorHandling {
  let counter: AddressCounter | null = null;
  const timeoutMs = deps.countTimeoutMs ?? 1000;
  return {
    handle(error, socket) {
      // A reset or an already-closed socket has no one to answer.
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const started = performance.now();
      const requestId = uuidv7();
      const address = socket.remoteAddress;
      void countWithin(counter, address, timeoutMs).then((limited) => {
        const refusal = limited ?? refusalFor(error.code);
        deps.log.info(
          {
            request_id: requestId,
            route: 'unmatched',
            status: refusal.statusCode,
            code: refusal.code,
            reason: error.code ?? 'unknown',
            duration_ms: Math.round((performance.now() - started) * 100) / 100,
          },
          'request',
        );
        // Node's own check: a refusal must not land in the middle of a response already
        // being written on this (keep-alive, pipelined) connection.
        const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
        if (socket.writable && inFlight?.headersSent !== true) socket.end(responseText(refusal, requestId, deps.headers));
        // The parser cannot go on with this connection: close it even if the peer does not.
        socket.destroySoon();
      }).catch(() => socket.destroy());
    },
    countWith(next) {
      counter = next;
    },
  };
}
