// POST /v1/auth/register. Like every /v1/auth route it draws on a per-address budget of
// its own; a mail request also on one per address and account and one per recipient
// (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { responses } from '../../core/http/problem.ts';
import { Accepted, type AuthLimits } from '../auth/index.ts';
import type { RegistrationDeps } from './deps.ts';
import { register } from './register.ts';
import { RegisterBody } from './schemas.ts';

const tags = ['auth'];

export const registrationRoutes: FastifyPluginCallback<{ deps: RegistrationDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  // Mail requests: the recipient's cap answers 429 like any limit, whether or not the
  // address has an account (docs/threat-model.md).
  const mailRequest = { access: 'public', rateLimit: [limits.address, limits.account, limits.recipient] } as const;

  typed.post(
    '/v1/auth/register',
    { config: mailRequest, schema: { summary: 'Register an account (a verification mail follows)', tags, body: RegisterBody, response: responses({ 202: Accepted }) } },
    async (request, reply) => {
      await register(deps, { email: request.body.email, password: request.body.password, name: request.body.name ?? null }, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );
  done();
};
