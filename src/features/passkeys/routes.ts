// Passkey routes: the signed-in user's passkeys (/v1/me/passkeys), passwordless login
// (/v1/auth/passkey), and the options for re-authenticating with a passkey alone.
// Registering or removing a passkey is a step-up action (`recentAuth`); registering is
// open to a user who must enrol a factor before anything else (`mfaEnrollment`).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { CookieSessionResponse, requireAuth, SignedInResponse, type AuthLimits } from '../auth/index.ts';
import { respondSignedIn } from '../browser-sessions/index.ts';
import type { PasskeyRouteDeps } from './deps.ts';
import { passkeyRegistrationOptions, registerPasskey, removePasskey, renamePasskey } from './manage.ts';
import { passwordlessLogin } from './passwordless.ts';
import type { PasskeySummary } from './repo.ts';
import { Passkey, PasskeyParams, PasswordlessBody, RegisterBody, RegisteredPasskey, RenameBody, WebAuthnOptions } from './schemas.ts';

const security = [{ bearer: [] }];
const tags = ['passkeys'];

function toPasskey(passkey: PasskeySummary): Static<typeof Passkey> {
  return {
    id: passkey.id,
    name: passkey.name,
    device_type: passkey.deviceType,
    backed_up: passkey.backedUp,
    transports: [...passkey.transports],
    created_at: passkey.createdAt.toISOString(),
    last_used_at: passkey.lastUsedAt === null ? null : passkey.lastUsedAt.toISOString(),
  };
}

// The options are the library's JSON for the browser; the schema only bounds it as an object.
const asOptions = (options: unknown): Record<string, unknown> => options as Record<string, unknown>;

export const passkeyRoutes: FastifyPluginCallback<{ deps: PasskeyRouteDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const enrolment = { access: 'authenticated', mfaEnrollment: true } as const;
  const stepUp = { ...enrolment, recentAuth: true } as const;

  typed.post(
    '/v1/me/passkeys/options',
    { config: stepUp, schema: { summary: 'Options to register a passkey (navigator.credentials.create)', tags, security, response: responses({ 200: WebAuthnOptions }) } },
    async (request) => asOptions(await passkeyRegistrationOptions(deps, requireAuth(request))),
  );

  typed.post(
    '/v1/me/passkeys',
    { config: stepUp, schema: { summary: 'Register a passkey', tags, security, body: RegisterBody, response: responses({ 201: RegisteredPasskey }) } },
    async (request, reply) => {
      const { body } = request;
      const result = await registerPasskey(deps, requireAuth(request), { response: body.response, ...(body.name === undefined ? {} : { name: body.name }) }, request.auditContext);
      return reply.code(201).send({ passkey: toPasskey(result.passkey), recovery_codes: result.recoveryCodes });
    },
  );

  typed.get(
    '/v1/me/passkeys',
    { config: enrolment, schema: { summary: 'List your passkeys', tags, security, response: responses({ 200: Type.Array(Passkey, { maxItems: 100 }) }) } },
    async (request) => (await deps.passkeys.list(requireAuth(request).userId)).map(toPasskey),
  );

  typed.patch(
    '/v1/me/passkeys/:id',
    { config: { access: 'authenticated' }, schema: { summary: 'Rename a passkey', tags, security, params: PasskeyParams, body: RenameBody, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await renamePasskey(deps, requireAuth(request), request.params.id, request.body.name, request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.delete(
    '/v1/me/passkeys/:id',
    { config: { access: 'authenticated', recentAuth: true }, schema: { summary: 'Remove a passkey', tags, security, params: PasskeyParams, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await removePasskey(deps, requireAuth(request), request.params.id, request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/auth/reauthenticate/passkey-options',
    // Writes a challenge row: the per-address budget of every /v1/auth route bounds it.
    { config: { ...enrolment, rateLimit: [limits.address] }, schema: { summary: 'Options to re-authenticate with a passkey alone', tags: ['auth'], security, response: responses({ 200: WebAuthnOptions }) } },
    async (request) => {
      const options = await deps.passkeys.reauthenticationOptions(requireAuth(request).userId);
      return asOptions(options?.options ?? {});
    },
  );

  typed.post(
    '/v1/auth/passkey/options',
    // Unauthenticated and writes a challenge row: the per-address budget bounds both.
    { config: { access: 'public', rateLimit: [limits.address] }, schema: { summary: 'Options for a passwordless passkey login', tags: ['auth'], response: responses({ 200: WebAuthnOptions }) } },
    async () => {
      // Anyone may ask, so expired challenges go as new ones come: the table holds about
      // the last five minutes' worth (and the address budget bounds those).
      await deps.passkeys.purgeExpiredChallenges();
      return asOptions((await deps.passkeys.passwordlessOptions()).options);
    },
  );

  typed.post(
    '/v1/auth/passkey',
    {
      config: { access: 'public', rateLimit: [limits.address] },
      schema: { summary: 'Log in with a passkey (no password)', tags: ['auth'], body: PasswordlessBody, response: responses({ 200: Type.Union([SignedInResponse, CookieSessionResponse]) }) },
    },
    async (request, reply) => {
      const { body } = request;
      const cookieMode = deps.browserSessions.cookieMode(request);
      const deviceToken = body.device_token ?? (cookieMode ? deps.browserSessions.deviceToken(request) : null) ?? undefined;
      const result = await passwordlessLogin(deps, { response: body.response, ...(deviceToken === undefined ? {} : { deviceToken }) }, request.auditContext);
      return respondSignedIn(deps.browserSessions, reply, result, { cookieMode });
    },
  );
  done();
};
