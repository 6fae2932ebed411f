// Second factors for tests: enrol an authenticator app through the real routes, and
// finish a login's second step. Accounts whose roles are in MFA_REQUIRED_ROLES (admin by
// default) need a factor before they can do anything; the fixtures that create admins
// enrol one here, so every admin test runs under the policy the server ships with.
import assert from 'node:assert/strict';
import { totpCodeAt, totpStep, type TotpSecret } from '../../src/features/mfa/totp.ts';
import type { TestApp } from './app.ts';

export interface EnrolledTotp {
  readonly secret: TotpSecret;
  readonly recoveryCodes: string[];
}

/**
 * Enrols an authenticator app in the session of `accessToken` (the confirmation makes it
 * a second-factor session) and returns the secret and the recovery codes.
 */
export async function enrolTotp(test: TestApp, accessToken: string, now: Date = test.services.auth.clock()): Promise<EnrolledTotp> {
  const headers = { authorization: `Bearer ${accessToken}` };
  const start = await test.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers });
  assert.equal(start.statusCode, 200, start.body);
  const secret = { base32: start.json<{ secret: string }>().secret };
  const confirm = await test.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers, payload: { code: totpCodeAt(secret, totpStep(now)) } });
  assert.equal(confirm.statusCode, 200, confirm.body);
  const codes = confirm.json<{ recovery_codes: string[] | null }>().recovery_codes;
  assert.ok(codes !== null, 'a first factor comes with recovery codes');
  return { secret, recoveryCodes: codes };
}

/** Enrols a factor when `roles` include one the server's MFA_REQUIRED_ROLES names; null otherwise. */
export async function meetMfaPolicy(test: TestApp, roles: readonly string[], accessToken: string): Promise<EnrolledTotp | null> {
  if (!roles.some((role) => test.config.auth.mfaRequiredRoles.includes(role))) return null;
  return enrolTotp(test, accessToken);
}

/** Logs in through the real routes; a second step spends one of `recoveryCodes`. */
export async function logInWithFactor<T>(test: TestApp, credentials: { email: string; password: string }, recoveryCodes: string[] | undefined): Promise<T> {
  const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: credentials.email, password: credentials.password } });
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json<T & { mfa_required?: true; mfa_token?: string }>();
  if (body.mfa_required !== true) return body;
  const code = recoveryCodes?.shift();
  assert.ok(code !== undefined, `${credentials.email} has a second factor and the test kept no recovery code`);
  const second = await test.app.inject({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: body.mfa_token, recovery_code: code } });
  assert.equal(second.statusCode, 200, second.body);
  return second.json<T>();
}
