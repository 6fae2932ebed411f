// Serves the built browser app: index.html at each of the app's own paths (the app routes
// in the browser with the History API), and its hashed files under /assets/. Everything
// else (/v1/*, /docs, /healthz, ...) is the API's, and an unknown path stays a JSON 404.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../core/errors.ts';
import { WEB_APP_PATHS, WEB_ASSETS_ROUTE } from './paths.ts';

/**
 * The pages' policy. Scripts and styles only from files of this origin (no inline code, so
 * an injected <script> or style attribute does nothing); Trusted Types so that no string
 * reaches an HTML or script sink; the API keeps its own policy that allows nothing.
 * Images also from `data:` (the TOTP QR code) and `blob:` (the avatar, fetched through the
 * api client: an object URL holds only bytes this page itself received).
 */
export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "require-trusted-types-for 'script'",
].join('; ');

// Vite's output names: `index-<hash>.js`, `index-<hash>.css`. Anything else (a dot file,
// a path with a slash or `..`) is not one of ours.
const ASSET_NAME = /^[\w-]{1,128}\.(?:js|css|svg|png|woff2)$/;

const page = {
  config: { access: 'public' as const },
  // Hidden from the OpenAPI document: these are pages, not API operations. A file stream
  // is never serialized, so the schema declares the route's answer without shaping it.
  schema: { hide: true, response: { 200: Type.String({ description: 'the app (text/html)' }) } },
};

function sendPage(reply: FastifyReply): FastifyReply {
  // A new deployment must reach users at once: the page is revalidated every time, the
  // hashed assets it names are cached for good.
  return reply
    .header('content-security-policy', WEB_APP_CSP)
    .header('cache-control', 'no-cache')
    .sendFile('index.html', { cacheControl: false });
}

const webAppPlugin: FastifyPluginAsync<{ dist: string }> = async (app, options) => {
  await app.register(fastifyStatic, { root: options.dist, serve: false, dotfiles: 'deny', index: false });
  for (const path of WEB_APP_PATHS) app.get(path, page, (_request, reply) => sendPage(reply));
  app.get<{ Params: { '*': string } }>(
    WEB_ASSETS_ROUTE,
    { ...page, schema: { ...page.schema, response: { 200: Type.String({ description: 'a built script, style or image' }) } } },
    (request, reply) => {
      const name = request.params['*'];
      if (!ASSET_NAME.test(name)) throw new AppError('not_found');
      return reply.sendFile(`assets/${name}`, { immutable: true, maxAge: '365d' });
    },
  );
};

/** Serves the app built into `dist` (web/dist). Without a build, the API is served alone. */
export async function registerWebApp(app: FastifyInstance, options: { readonly dist: string }): Promise<void> {
  await app.register(webAppPlugin, options);
}
