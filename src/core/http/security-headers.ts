// Security headers on every response, errors and 404s included. The API serves JSON only,
// so its content security policy allows nothing at all; pages (the docs, later the UI)
// set their own narrower policy on their own routes.
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Responses that carry or reveal credentials or personal data must not be stored by
// browsers or shared caches.
const NO_STORE_PREFIXES = ['/v1/'];

export interface SecurityHeaderOptions {
  /** HSTS is sent only when the server is reached over https. */
  readonly https: boolean;
}

export async function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): Promise<void> {
  await app.register(helmet, {
    global: true,
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
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (NO_STORE_PREFIXES.some((prefix) => request.url.startsWith(prefix)) || reply.statusCode >= 400) {
      void reply.header('cache-control', 'no-store');
      void reply.header('pragma', 'no-cache');
    }
    return payload;
  });
}
