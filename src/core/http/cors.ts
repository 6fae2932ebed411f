// Cross-origin access from an exact allowlist only. A wildcard is never combined with
// credentials (configuration refuses it, and this function refuses it again).
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export interface CorsOptions {
  readonly origins: '*' | readonly string[];
  readonly credentials: boolean;
}

export async function registerCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  const wildcard = options.origins === '*';
  if (wildcard && options.credentials) throw new Error('CORS: a wildcard origin cannot allow credentials');
  const allowed = new Set(wildcard ? [] : options.origins);
  await app.register(cors, {
    origin: wildcard ? '*' : (origin, callback) => {
      // No Origin header: not a cross-origin browser request; nothing to add.
      callback(null, origin !== undefined && allowed.has(origin));
    },
    credentials: options.credentials,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    // A browser client may read when to retry and which limit it is close to (rate-limit-headers.ts).
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    maxAge: 600,
    strictPreflight: true,
  });
}
