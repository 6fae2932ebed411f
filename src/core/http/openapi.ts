// OpenAPI 3.1 generated from the route schemas, at /openapi.json, and a docs page at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Access } from './route-policy.ts';

/** How `x-access` documents a route's access: always a JSON object, one key. */
export type DocumentedAccess = { readonly public: true } | { readonly authenticated: true } | { readonly permission: string };

export function documentAccess(access: Access): DocumentedAccess {
  if (access === 'public') return { public: true };
  if (access === 'authenticated') return { authenticated: true };
  return { permission: access.permission };
}

// swagger-ui's default page policy allows remote styles and frames from its own origin;
// this keeps only what the bundled page needs.
function tightenDocsCSP(header: string): string {
  return header
    .replace(/frame-ancestors [^;]*;/, "frame-ancestors 'none';")
    .replace(/ validator\.swagger\.io/, '')
    .replaceAll(' https:', '')
    .replace(/ ?upgrade-insecure-requests;/, '')
    .concat(" form-action 'none'; connect-src 'self';");
}

const MULTIPART_FILE_BODY = {
  type: 'object',
  required: ['file'],
  properties: { file: { type: 'string', format: 'binary', description: 'The file (one part)' } },
  additionalProperties: false,
} as const;

export async function registerOpenAPI(app: FastifyInstance, options: { publicURL: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        description:
          'Identity and access server. Errors are RFC 9457 problem details with a stable `code`. '
          + 'Every route but the health probes answers with the `RateLimit-Policy` and `RateLimit` fields '
          + '(draft-ietf-httpapi-ratelimit-headers) of the limit closest to refusing; a 429 `rate_limited` names '
          + 'the limit that refused and carries `Retry-After`.',
        version: options.version,
      },
      servers: [{ url: options.publicURL }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // Each operation states the access its route declares (route-policy.ts) as a JSON
    // object, {"public":true}, {"authenticated":true} or {"permission":"users:read"}:
    // clients see which permission a call needs, and the authorization matrix test reads
    // it from here. A route without one never gets this far (route-policy.ts).
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      // `x-step-up`: needs a session authenticated within REAUTH_MAX_AGE; `x-mfa-enrollment`:
      // open to a user who must enrol a second factor first; `x-mfa-session`: needs a
      // session that used a second factor. The step-up test reads them from here.
      const config = route.config ?? {};
      const extras = {
        ...(config.recentAuth === true ? { 'x-step-up': true } : {}),
        ...(config.mfaEnrollment === true ? { 'x-mfa-enrollment': true } : {}),
        ...(config.mfaSession === true ? { 'x-mfa-session': true } : {}),
      };
      // A multipart route reads its body as a stream (features/files), so Fastify has no
      // body schema to validate; the document still shows the one part it takes.
      const multipart = schema.consumes?.includes('multipart/form-data') === true && schema.body === undefined ? { body: MULTIPART_FILE_BODY } : {};
      return { schema: { ...schema, ...multipart, 'x-access': access === undefined ? null : documentAccess(access), ...extras }, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: tightenDocsCSP,
    uiConfig: { deepLinking: false, validatorUrl: null },
  });
  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } },
    },
    (_request, reply) => reply.send(app.swagger()),
  );
}
