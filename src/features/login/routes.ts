// POST /v1/auth/login. Like every /v1/auth route it draws on a per-address budget of its
// own, tighter than the global one, and, naming an account, on one per address and
// account too (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { responses } from '../../core/http/problem.ts';
import { AppError } from '../../core/errors.ts';
import { requireAuth, type AuthLimits } from '../auth/index.ts';
import { respondSignedIn } from '../browser-sessions/index.ts';
import { proofOf, ReauthenticateBody, ReauthenticateResponse } from '../mfa/index.ts';
import { login } from './login.ts';
import { reauthenticate, type ReauthenticateDeps, type ReauthenticateInput } from './reauthenticate.ts';
import { LoginBody, LoginResponse } from './schemas.ts';

const tags = ['auth'];

function reauthenticationOf(body: { password?: string | undefined; code?: string | undefined; recovery_code?: string | undefined; passkey?: unknown }): ReauthenticateInput {
  const proof = proofOf(body);
  if (proof?.method === 'passkey') {
    if (body.password !== undefined) throw new AppError('invalid_request', { detail: 'passkey with password', fields: [{ field: '/body', rule: 'a passkey alone, or a password' }] });
    return { passkey: proof.response };
  }
  if (body.password === undefined) throw new AppError('invalid_request', { detail: 'no password', fields: [{ field: '/body/password', rule: 'required without passkey' }] });
  return proof === null ? { password: body.password } : { password: body.password, proof };
}

export const loginRoutes: FastifyPluginCallback<{ deps: ReauthenticateDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.post(
    '/v1/auth/login',
    {
      config: { access: 'public', rateLimit: [limits.address, limits.account] },
      schema: { summary: 'Log in with email and password (then a second factor, if the account has one)', tags, body: LoginBody, response: responses({ 200: LoginResponse }) },
    },
    async (request, reply) => {
      const { body } = request;
      const cookieMode = deps.browserSessions.cookieMode(request);
      const proof = proofOf(body);
      const deviceToken = body.device_token ?? (cookieMode ? deps.browserSessions.deviceToken(request) : null) ?? undefined;
      const result = await login(
        deps,
        {
          email: body.email,
          password: body.password,
          ...(deviceToken === undefined ? {} : { deviceToken }),
          ...(proof === null || proof.method === 'passkey' ? {} : { proof }),
        },
        request.auditContext,
      );
      if (result.kind === 'signed_in') return respondSignedIn(deps.browserSessions, reply, result, { cookieMode });
      return {
        mfa_required: true as const,
        mfa_token: result.mfaToken,
        expires_in: result.expiresIn,
        methods: [...result.methods],
        passkey_options: (result.passkeyOptions ?? null) as Record<string, unknown> | null,
      };
    },
  );

  typed.post(
    '/v1/auth/reauthenticate',
    {
      // A password guess like a login's: the per-address+account budget, the account being
      // the signed-in user, and the account's lockouts (reauthenticate.ts).
      config: { access: 'authenticated', mfaEnrollment: true, rateLimit: [limits.address, limits.account] },
      schema: {
        summary: 'Confirm it is you (step-up): renews the session\'s authentication time',
        tags,
        security: [{ bearer: [] }],
        body: ReauthenticateBody,
        response: responses({ 200: ReauthenticateResponse }),
      },
    },
    async (request) => {
      const result = await reauthenticate(deps, requireAuth(request), reauthenticationOf(request.body), request.auditContext);
      return { auth_time: result.authTime.toISOString(), amr: [...result.amr] };
    },
  );
  done();
};
