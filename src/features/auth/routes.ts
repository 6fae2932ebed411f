// /v1/auth: registration, verification, login, refresh, logout, recovery. Every route
// here also draws on a per-address budget of its own, tighter than the global one.
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.ts';
import { clientAddressKey } from '../../core/http/client-address.ts';
import { responses } from '../../core/http/problem.ts';
import { revokeOwnSession } from './account.ts';
import { requireAuth } from './authenticate.ts';
import type { AuthDeps } from './deps.ts';
import { login } from './login.ts';
import { forgotPassword, resetPassword } from './recovery.ts';
import { refresh } from './refresh.ts';
import { register, requestVerificationMail } from './register.ts';
import * as S from './schemas.ts';
import { verifyEmail } from './verify-email.ts';

async function limitPerAccount(deps: AuthDeps, request: FastifyRequest, email: string): Promise<void> {
  const decision = await deps.limits.account.consume(`${clientAddressKey(request.ip)}|${deps.blindIndex.email(email)}`);
  if (!decision.allowed) {
    throw new AppError('rate_limited', { detail: 'per-address account limit', headers: { 'retry-after': String(decision.retryAfterSeconds) } });
  }
}

const tags = ['auth'];

export const authRoutes: FastifyPluginCallback<{ deps: AuthDeps }> = (app, { deps }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request) => {
    const decision = await deps.limits.ip.consume(clientAddressKey(request.ip));
    if (!decision.allowed) {
      throw new AppError('rate_limited', { detail: 'auth per-address limit', headers: { 'retry-after': String(decision.retryAfterSeconds) } });
    }
  });

  typed.post(
    '/v1/auth/register',
    { config: { access: 'public' }, schema: { summary: 'Register an account (a verification mail follows)', tags, body: S.RegisterBody, response: responses({ 202: S.Accepted }) } },
    async (request, reply) => {
      await limitPerAccount(deps, request, request.body.email);
      register(deps, { email: request.body.email, password: request.body.password, name: request.body.name ?? null }, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );

  typed.post(
    '/v1/auth/verify-email',
    { config: { access: 'public' }, schema: { summary: 'Verify an email address with the mailed token', tags, body: S.TokenBody, response: responses({ 200: S.Verified }) } },
    async (request) => {
      await verifyEmail(deps, request.body.token, request.auditContext);
      return { status: 'email_verified' as const };
    },
  );

  typed.post(
    '/v1/auth/verify-email/resend',
    { config: { access: 'public' }, schema: { summary: 'Send a new verification mail', tags, body: S.ForgotBody, response: responses({ 202: S.Accepted }) } },
    async (request, reply) => {
      await limitPerAccount(deps, request, request.body.email);
      requestVerificationMail(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );

  typed.post(
    '/v1/auth/login',
    { config: { access: 'public' }, schema: { summary: 'Log in with email and password', tags, body: S.LoginBody, response: responses({ 200: S.TokenResponse }) } },
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
    { config: { access: 'public' }, schema: { summary: 'Exchange a refresh token for new tokens', tags, body: S.RefreshBody, response: responses({ 200: S.RefreshResponse }) } },
    async (request) => {
      const pair = await refresh(deps, request.body.refresh_token, request.auditContext);
      return { access_token: pair.accessToken, token_type: 'Bearer' as const, expires_in: pair.expiresIn, refresh_token: pair.refreshToken };
    },
  );

  typed.post(
    '/v1/auth/logout',
    { config: { access: 'authenticated' }, schema: { summary: 'Log out: end the current session', tags, security: [{ bearer: [] }], response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await revokeOwnSession(deps, auth, auth.sessionId, 'logout', request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/auth/password/forgot',
    { config: { access: 'public' }, schema: { summary: 'Ask for a password-reset mail', tags, body: S.ForgotBody, response: responses({ 202: S.ForgotAccepted }) } },
    async (request, reply) => {
      await limitPerAccount(deps, request, request.body.email);
      forgotPassword(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'reset_requested' as const });
    },
  );

  typed.post(
    '/v1/auth/password/reset',
    { config: { access: 'public' }, schema: { summary: 'Set a new password with the mailed reset token', tags, body: S.ResetBody, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await resetPassword(deps, request.body.token, request.body.password, request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
