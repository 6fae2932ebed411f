// POST /v1/auth/verify-email and /v1/auth/verify-email/resend. Like every /v1/auth route
// they draw on a per-address budget of their own; the resend, a mail request, also on one
// per address and account and one per recipient (auth/limits.ts).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { responses } from '../../core/http/problem.ts';
import { Accepted, ForgotBody, type AuthLimits } from '../auth/index.ts';
import type { VerificationDeps } from './deps.ts';
import { requestVerificationMail } from './resend.ts';
import { TokenBody, Verified } from './schemas.ts';
import { verifyEmail } from './verify-email.ts';

const tags = ['auth'];

export const verificationRoutes: FastifyPluginCallback<{ deps: VerificationDeps; limits: AuthLimits }> = (app, { deps, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const perAddress = { access: 'public', rateLimit: [limits.address] } as const;
  // Mail requests: the recipient's cap answers 429 like any limit, whether or not the
  // address has an account (docs/threat-model.md).
  const mailRequest = { access: 'public', rateLimit: [limits.address, limits.account, limits.recipient] } as const;

  typed.post(
    '/v1/auth/verify-email',
    { config: perAddress, schema: { summary: 'Verify an email address with the mailed token', tags, body: TokenBody, response: responses({ 200: Verified }) } },
    async (request) => {
      await verifyEmail(deps, request.body.token, request.auditContext);
      return { status: 'email_verified' as const };
    },
  );

  typed.post(
    '/v1/auth/verify-email/resend',
    { config: mailRequest, schema: { summary: 'Send a new verification mail', tags, body: ForgotBody, response: responses({ 202: Accepted }) } },
    async (request, reply) => {
      await requestVerificationMail(deps, request.body.email, request.auditContext);
      return reply.code(202).send({ status: 'verification_sent' as const });
    },
  );
  done();
};
