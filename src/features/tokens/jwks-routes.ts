// GET /.well-known/jwks.json: the public keys that verify our access tokens (RFC 7517).
// The response schema lists each member and forbids any other, so the serializer can
// only ever write these six fields: a private `d` cannot leave even if a bug put it in.
// Cacheable for five minutes: the next key is published a whole rotation before it
// signs, so a relying party's cached copy already holds it.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import type { SigningKeySource } from './signing-key-source.ts';

export const JWKS_PATH = '/.well-known/jwks.json';
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

const Base64url = (maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength });

export const PublicJWKSchema = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Base64url(43),
    kid: Base64url(64),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false },
);

export const JWKSSchema = Type.Object(
  { keys: Type.Array(PublicJWKSchema, { maxItems: 64 }) },
  { additionalProperties: false, description: 'JSON Web Key Set (RFC 7517)' },
);

export interface JWKSRoutesOptions {
  readonly keys: SigningKeySource;
}

// Registers synchronously; the Promise is only what `register` expects of a plugin.
export const jwksRoutes: FastifyPluginAsync<JWKSRoutesOptions> = (app, { keys }) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get(
    JWKS_PATH,
    {
      config: { access: 'public' },
      schema: {
        tags: ['tokens'],
        summary: 'The public keys that verify access tokens',
        response: responses({ 200: JWKSSchema }),
      },
    },
    async (_request, reply) => {
      const jwks = await keys.jwks();
      void reply.header('cache-control', JWKS_CACHE_CONTROL);
      return { keys: [...jwks.keys] };
    },
  );
  return Promise.resolve();
};
