// Security headers on every response, errors and 404s included. The API serves JSON only,
// so its content security policy allows nothing at all; pages (the docs, later the UI)
// set their own narrower policy on their own routes.
import type { OutgoingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { nodeHttp } from './node-http.ts';

const { IncomingMessage, ServerResponse } = nodeHttp;

export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Responses that carry or reveal credentials or personal data must not be stored by
// browsers or shared caches.
const NO_STORE_PREFIXES = ['/v1/'];

export interface SecurityHeaderOptions {
  /** HSTS is sent only when the server is reached over https. */
  readonly https: boolean;
}

function helmetOptions(options: SecurityHeaderOptions): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'none'"],
        'frame-ancestors': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.https ? { maxAge: 63_072_000, includeSubDomains: true, preload: false } : false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    xPoweredBy: true,
  };
}

/**
 * The headers helmet sets on every response, found once by running helmet on a response
 * that is never sent. Our policy has no per-request parts (no nonces, no functions), so
 * each response gets the same headers; @fastify/helmet instead rebuilt helmet, parsing
 * every option, on every request. (Helmet's one removal, X-Powered-By, is a header
 * Fastify never sets.)
 */
export function securityHeaders(options: SecurityHeaderOptions): OutgoingHttpHeaders {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  helmet(helmetOptions(options))(response.req, response, (error?: unknown) => {
    if (error !== undefined && error !== null) throw error instanceof Error ? error : new Error('helmet refused the options');
  });
  return response.getHeaders();
}

export function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  const headers = Object.entries(securityHeaders(options));
  if (headers.length === 0) throw new Error('helmet set no security headers');
  // First thing for every request, 404s and errors included, on the raw response as
  // helmet itself would: a route may still replace one (the docs page sets its own CSP).
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) if (value !== undefined) reply.raw.setHeader(name, value);
    done();
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (NO_STORE_PREFIXES.some((prefix) => request.url.startsWith(prefix)) || reply.statusCode >= 400) {
      void reply.header('cache-control', 'no-store');
      void reply.header('pragma', 'no-cache');
    }
    return payload;
  });
}
