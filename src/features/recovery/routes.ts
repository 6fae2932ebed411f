// POST /v1/auth/password/forgot and /v1/auth/password/reset. Like every /v1/auth route
// they draw on a per-address budget of their own; the forgot request, a mail request,
// also on one per address and account and one per recipient (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { ForgotBody, type AuthLimits } from '../auth/index.ts';
import type { RecoveryDeps } from './deps.ts';
import { forgotPassword, resetPassword } from './recovery.ts';
import { ForgotAccepted, ResetBody } from './schemas.ts';

const tags = ['auth'];

export const recoveryRoutes: FastifyPluginCallback<{ deps: RecoveryDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const perAddress = { access: 'public', rateLimit: [limits.address] } as const;
  // Mail requests: the recipient's cap answers 429 like any limit, whether or not the
  // address has an account (docs/threat-model.md).
  const mailRequest = { access: 'public', rateLimit: [limits.address, limits.account, limits.recipient] } as const;

  typed.post(
    '/v1/auth/password/forgot',
    { config: mailRequest, schema: { summary: 'Ask for a password-reset mail', tags, body: ForgotBody, response: responses({ 202: ForgotAccepted }) } },
    async (request, reply) => {
      await forgotPassword(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'reset_requested' as const });
    },
  );

  typed.post(
    '/v1/auth/password/reset',
    { config: perAddress, schema: { summary: 'Set a new password with the mailed reset token', tags, body: ResetBody, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await resetPassword(deps, request.body.token, request.body.password, request.auditContext);
      return reply.code(204).send(null);
    },
  );
  done();
};
