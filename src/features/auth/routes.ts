// /v1/auth: registration, verification, login, refresh, logout, recovery. Every route
// here also draws on a per-address budget of its own, tighter than the global one; the
// routes that name an account (login, registration, mail requests) on one per address
// and account too, and those that send mail on one per recipient (limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { revokeOwnSession } from './account.ts';
import { requireAuth } from './authenticate.ts';
import type { AuthDeps } from './deps.ts';
import type { AuthLimits } from './limits.ts';
import { login } from './login.ts';
import { forgotPassword, resetPassword } from './recovery.ts';
import { refresh } from './refresh.ts';
import { register, requestVerificationMail } from './register.ts';
import * as S from './schemas.ts';
import { verifyEmail } from './verify-email.ts';

const tags = ['auth'];

export const authRoutes: FastifyPluginCallback<{ deps: AuthDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const perAddress = { access: 'public', rateLimit: [limits.address] } as const;
  // Mail requests: the recipient's cap answers 429 like any limit, whether or not the
  // address has an account (docs/threat-model.md).
  const mailRequest = { access: 'public', rateLimit: [limits.address, limits.account, limits.recipient] } as const;

  typed.post(
    '/v1/auth/register',
    { config: mailRequest, schema: { summary: 'Register an account (a verification mail follows)', tags, body: S.RegisterBody, response: responses({ 202: S.Accepted }) } },
    async (request, reply) => {
      await register(deps, { email: request.body.email, password: request.body.password, name: request.body.name ?? null }, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );

  typed.post(
    '/v1/auth/verify-email',
    { config: perAddress, schema: { summary: 'Verify an email address with the mailed token', tags, body: S.TokenBody, response: responses({ 200: S.Verified }) } },
    async (request) => {
      await verifyEmail(deps, request.body.token, request.auditContext);
      return { status: 'email_verified' as const };
    },
  );

  typed.post(
    '/v1/auth/verify-email/resend',
    { config: mailRequest, schema: { summary: 'Send a new verification mail', tags, body: S.ForgotBody, response: responses({ 202: S.Accepted }) } },
    async (request, reply) => {
      await requestVerificationMail(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );

  typed.post(
    '/v1/auth/login',
    { config: { access: 'public', rateLimit: [limits.address, limits.account] }, schema: { summary: 'Log in with email and password', tags, body: S.LoginBody, response: responses({ 200: S.TokenResponse }) } },
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

  typed.post(
    '/v1/auth/refresh',
    { config: perAddress, schema: { summary: 'Exchange a refresh token for new tokens', tags, body: S.RefreshBody, response: responses({ 200: S.RefreshResponse }) } },
    async (request) => {
      const pair = await refresh(deps, request.body.refresh_token, request.auditContext);
      return { access_token: pair.accessToken, token_type: 'Bearer' as const, expires_in: pair.expiresIn, refresh_token: pair.refreshToken };
    },
  );

  typed.post(
    '/v1/auth/logout',
    { config: { access: 'authenticated', rateLimit: [limits.address] }, schema: { summary: 'Log out: end the current session', tags, security: [{ bearer: [] }], response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await revokeOwnSession(deps, auth, auth.sessionId, 'logout', request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/auth/password/forgot',
    { config: mailRequest, schema: { summary: 'Ask for a password-reset mail', tags, body: S.ForgotBody, response: responses({ 202: S.ForgotAccepted }) } },
    async (request, reply) => {
      await forgotPassword(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'reset_requested' as const });
    },
  );

  typed.post(
    '/v1/auth/password/reset',
    { config: perAddress, schema: { summary: 'Set a new password with the mailed reset token', tags, body: S.ResetBody, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await resetPassword(deps, request.body.token, request.body.password, request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
