// POST /v1/auth/login. Like every /v1/auth route it draws on a per-address budget of its
// own, tighter than the global one, and, naming an account, on one per address and
// account too (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { responses } from '../../core/http/problem.ts';
import type { AuthLimits } from '../auth/index.ts';
import type { LoginDeps } from './deps.ts';
import { login } from './login.ts';
import { LoginBody, TokenResponse } from './schemas.ts';

const tags = ['auth'];

export const loginRoutes: FastifyPluginCallback<{ deps: LoginDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.post(
    '/v1/auth/login',
    { config: { access: 'public', rateLimit: [limits.address, limits.account] }, schema: { summary: 'Log in with email and password', tags, body: LoginBody, response: responses({ 200: TokenResponse }) } },
    async (request) => {
      const result = await login(deps, request.body, request.auditContext);
      return {
        access_token: result.accessToken,
        token_type: 'Bearer' as const,
        expires_in: result.expiresIn,
        refresh_token: result.refreshToken,
        session_id: result.sessionId,
      };
    },
  );
  done();
};
