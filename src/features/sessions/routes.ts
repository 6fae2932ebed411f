// POST /v1/auth/refresh and /v1/auth/logout: the session flows a client runs. Like every
// /v1/auth route they draw on a per-address budget of their own (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { requireAuth, type AuthLimits } from '../auth/index.ts';
import type { SessionsDeps } from './deps.ts';
import { refresh } from './refresh.ts';
import { revokeOwnSession } from './revoke-own.ts';
import { RefreshBody, RefreshResponse } from './schemas.ts';

const tags = ['auth'];

export const sessionRoutes: FastifyPluginCallback<{ deps: SessionsDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const perAddress = { access: 'public', rateLimit: [limits.address] } as const;

  typed.post(
    '/v1/auth/refresh',
    { config: perAddress, schema: { summary: 'Exchange a refresh token for new tokens', tags, body: RefreshBody, response: responses({ 200: RefreshResponse }) } },
    async (request) => {
      const pair = await refresh(deps, request.body.refresh_token, request.auditContext);
      return { access_token: pair.accessToken, token_type: 'Bearer' as const, expires_in: pair.expiresIn, refresh_token: pair.refreshToken };
    },
  );

  typed.post(
    '/v1/auth/logout',
    { config: { access: 'authenticated', mfaEnrollment: true, rateLimit: [limits.address] }, schema: { summary: 'Log out: end the current session', tags, security: [{ bearer: [] }], response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await revokeOwnSession(deps, auth, auth.sessionId, 'logout', request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
