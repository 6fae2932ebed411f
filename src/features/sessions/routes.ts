// POST /v1/auth/refresh and /v1/auth/logout: the session flows a client runs. Like every
// /v1/auth route they draw on a per-address budget of their own (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { AppError } from '../../core/errors.ts';
import { CookieSessionResponse, requireAuth, type AuthLimits } from '../auth/index.ts';
import type { SessionsDeps } from './deps.ts';
import { refresh } from './refresh.ts';
import { sessionOfRefreshToken } from './repo.ts';
import { revokeOwnSession } from './revoke-own.ts';
import { RefreshBody, RefreshResponse } from './schemas.ts';

const tags = ['auth'];

export const sessionRoutes: FastifyPluginCallback<{ deps: SessionsDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const perAddress = { access: 'public', rateLimit: [limits.address] } as const;

  typed.post(
    '/v1/auth/refresh',
    {
      config: perAddress,
      schema: { summary: 'Exchange a refresh token for new tokens', tags, body: RefreshBody, response: responses({ 200: Type.Union([RefreshResponse, CookieSessionResponse]) }) },
    },
    async (request, reply) => {
      const browser = deps.browserSessions;
      const cookieMode = browser.cookieMode(request);
      const token = request.body.refresh_token ?? (cookieMode ? browser.refreshToken(request) : null);
      if (typeof token !== 'string') throw new AppError('invalid_request', { detail: 'no refresh token', fields: [{ field: '/body/refresh_token', rule: 'required' }] });
      if (cookieMode) {
        // The browser's CSRF token is bound to the session: checked before anything rotates.
        const sessionId = await sessionOfRefreshToken(deps.db, token);
        if (sessionId === null) throw new AppError('invalid_token', { detail: 'refresh cookie names no session' });
        browser.guard.checkSession(request, sessionId);
      }
      const pair = await refresh(deps, token, request.auditContext);
      if (!cookieMode) return { access_token: pair.accessToken, token_type: 'Bearer' as const, expires_in: pair.expiresIn, refresh_token: pair.refreshToken };
      browser.signIn(reply, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, sessionId: pair.sessionId });
      return { token_type: 'cookie' as const, session_id: pair.sessionId, expires_in: pair.expiresIn };
    },
  );

  typed.post(
    '/v1/auth/logout',
    { config: { access: 'authenticated', mfaEnrollment: true, rateLimit: [limits.address] }, schema: { summary: 'Log out: end the current session', tags, security: [{ bearer: [] }], response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await revokeOwnSession(deps, auth, auth.sessionId, 'logout', request.auditContext);
      if (auth.via === 'cookie') deps.browserSessions.clear(reply);
      return reply.code(204).send(null);
    },
  );
  done();
};
