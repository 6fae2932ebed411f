// OpenAPI 3.1 generated from the route schemas, at /openapi.json, and a docs page at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';

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

export async function registerOpenAPI(app: FastifyInstance, options: { publicURL: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        description: 'Identity and access server. Errors are RFC 9457 problem details with a stable `code`.',
        version: options.version,
      },
      servers: [{ url: options.publicURL }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    // Each operation states the access its route declares (route-policy.ts): clients see
    // which permission a call needs, and the authorization matrix test reads it from here.
    transform: ({ schema, url, route }) => ({ schema: { ...schema, 'x-access': route.config?.access ?? null }, url }),
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
