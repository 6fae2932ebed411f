// Shared by the MFA suites: an app with a manual clock (so TOTP steps and expiries are
// the test's to choose), accounts with an authenticator app enrolled through the API, and
// the two steps of a login.
import assert from 'node:assert/strict';
import type { TestApp } from '../../../test/helpers/app.ts';
import type { TestEngine } from '../../../test/helpers/database.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { appPerSuiteWith, createUser, type Account } from '../../../test/security/authz.fixtures.ts';
import { manualClock, type ManualClock, type Tokens } from '../../../test/security/security.fixtures.ts';
import { totpCodeAt, totpStep, type TotpSecret } from './totp.ts';

export interface MfaSuite {
  readonly test: TestApp;
  readonly time: ManualClock;
}

/** Inside a describe: one app on a fresh database of the engine, with a manual clock. */
export function mfaAppPerSuite(engine: TestEngine, env: Record<string, string> = {}): MfaSuite {
  const time = manualClock();
  const suite = appPerSuiteWith(engine, env, { clock: time.clock });
  return {
    get test() {
      return suite.test;
    },
    time,
  };
}

export interface EnrolledAccount extends Account {
  readonly secret: TotpSecret;
  readonly recoveryCodes: string[];
  /** The session the factor was enrolled in. */
  readonly tokens: Tokens;
}

export type LoginAnswer = Partial<Tokens> & { mfa_required?: true; mfa_token?: string; methods?: string[]; device_token?: string; code?: string };

export async function passwordStep(test: TestApp, account: { email: string; password: string }, extra: Record<string, unknown> = {}): Promise<{ status: number; body: LoginAnswer }> {
  const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password, ...extra } });
  return { status: response.statusCode, body: response.json<LoginAnswer>() };
}

export async function secondStep(test: TestApp, body: Record<string, unknown>): Promise<{ status: number; body: LoginAnswer }> {
  const response = await test.app.inject({ method: 'POST', url: '/v1/auth/mfa', payload: body });
  return { status: response.statusCode, body: response.json<LoginAnswer>() };
}

/** The mfa_token of a correct password for an account with a second factor. */
export async function mfaToken(test: TestApp, account: { email: string; password: string }): Promise<string> {
  const first = await passwordStep(test, account);
  assert.equal(first.status, 200);
  assert.equal(first.body.mfa_required, true, JSON.stringify(first.body));
  assert.ok(first.body.mfa_token !== undefined);
  return first.body.mfa_token;
}

export function codeNow(secret: TotpSecret, time: ManualClock, offsetSteps = 0): string {
  return totpCodeAt(secret, totpStep(time.clock()) + offsetSteps);
}

/**
 * A verified account with an authenticator app enrolled (and confirmed) through the API.
 * The clock then moves one step on, so the next code is not the one the enrolment took.
 */
export async function enrolledAccount(suite: MfaSuite, options: { roles?: readonly string[]; label?: string } = {}): Promise<EnrolledAccount> {
  const account = await createUser(suite.test, options);
  const first = await passwordStep(suite.test, account);
  assert.equal(first.status, 200);
  const tokens = first.body as Tokens;
  const enrolled = await enrolTotp(suite.test, tokens.access_token, suite.time.clock());
  suite.time.advanceSeconds(30);
  return { ...account, secret: enrolled.secret, recoveryCodes: enrolled.recoveryCodes, tokens };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
