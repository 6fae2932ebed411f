// The MFA flow's routes: /v1/me/mfa (what is enrolled, TOTP enrolment and removal,
// recovery codes) and POST /v1/auth/mfa (a login's second step). Adding or removing a
// factor and making new recovery codes are step-up actions (`recentAuth`); the enrolment
// routes stay open to a user who must enrol before anything else (`mfaEnrollment`).
import type { FastifyPluginCallback } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { responses } from '../../core/http/problem.ts';
import { CookieSessionResponse, requireAuth, SignedInResponse, type AuthLimits } from '../auth/index.ts';
import { respondSignedIn, type BrowserSessions } from '../browser-sessions/index.ts';
import type { MfaDeps } from './deps.ts';
import { confirmTotp, regenerateRecoveryCodes, removeTotp, startTotpEnrolment } from './enrolment.ts';
import { enrolledFactors, secondFactorMethods } from './factors.ts';
import { completeMfaLogin } from './login-step.ts';
import type { SecondFactorRequirement } from './policy.ts';
import { requireProof } from './proof.ts';
import { ConfirmBody, MfaBody, MfaStatus, RecoveryCodesResponse, TotpEnrolmentResponse } from './schemas.ts';

const security = [{ bearer: [] }];

export const mfaRoutes: FastifyPluginCallback<{ deps: MfaDeps; requirement: SecondFactorRequirement; browser: BrowserSessions; limits: AuthLimits }> = (app, { deps, requirement, browser, limits }, done) => {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const enrolment = { access: 'authenticated', mfaEnrollment: true } as const;
  const stepUp = { ...enrolment, recentAuth: true } as const;
  const tags = ['mfa'];

  typed.post(
    '/v1/auth/mfa',
    {
      config: { access: 'public', rateLimit: [limits.address] },
      schema: { summary: 'Complete a login with a second factor', tags: ['auth'], body: MfaBody, response: responses({ 200: Type.Union([SignedInResponse, CookieSessionResponse]) }) },
    },
    async (request, reply) => {
      const cookieMode = browser.cookieMode(request);
      const result = await completeMfaLogin(deps, { mfaToken: request.body.mfa_token, proof: requireProof(request.body) }, request.auditContext);
      return respondSignedIn(browser, reply, result, { cookieMode });
    },
  );

  typed.get('/v1/me/mfa', { config: enrolment, schema: { summary: 'List your second factors (never a secret)', tags, security, response: responses({ 200: MfaStatus }) } }, async (request) => {
    const auth = requireAuth(request);
    const [factors, state] = await Promise.all([enrolledFactors(deps.db, auth.userId), requirement.stateOf(auth.userId)]);
    return {
      required: state.required,
      methods: secondFactorMethods(factors),
      totp: factors.totp === null ? null : { confirmed_at: factors.totp.confirmedAt.toISOString() },
      passkeys: factors.passkeys,
      recovery_codes_remaining: factors.recoveryCodes,
    };
  });

  typed.post(
    '/v1/me/mfa/totp',
    { config: stepUp, schema: { summary: 'Start enrolling an authenticator app (TOTP)', tags, security, response: responses({ 200: TotpEnrolmentResponse }) } },
    async (request) => {
      const enrolled = await startTotpEnrolment(deps, requireAuth(request), request.auditContext);
      return { secret: enrolled.secret, otpauth_uri: enrolled.uri, qr_svg: enrolled.qrSVG };
    },
  );

  typed.post(
    '/v1/me/mfa/totp/confirm',
    // A code typed from the new app; guesses are bounded by the per-account budget.
    { config: { ...stepUp, rateLimit: [limits.account] }, schema: { summary: 'Activate the authenticator app with a code from it', tags, security, body: ConfirmBody, response: responses({ 200: RecoveryCodesResponse }) } },
    async (request) => {
      const confirmed = await confirmTotp(deps, requireAuth(request), request.body.code, request.auditContext);
      return { recovery_codes: confirmed.recoveryCodes };
    },
  );

  typed.delete(
    '/v1/me/mfa/totp',
    { config: { access: 'authenticated', recentAuth: true }, schema: { summary: 'Remove the authenticator app', tags, security, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await removeTotp(deps, requireAuth(request), request.auditContext);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    '/v1/me/mfa/recovery-codes',
    { config: { access: 'authenticated', recentAuth: true }, schema: { summary: 'Make new recovery codes (the old ones stop working)', tags, security, response: responses({ 200: RecoveryCodesResponse }) } },
    async (request) => ({ recovery_codes: await regenerateRecoveryCodes(deps, requireAuth(request), request.auditContext) }),
  );
  done();
};
