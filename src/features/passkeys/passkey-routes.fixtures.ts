// Shared by the passkey route suites: an app whose PUBLIC_URL names a host (an IP address
// is never a WebAuthn RP ID, relying-party.ts), a software authenticator at that origin,
// and the ceremonies over the real routes, so each test reads as the browser's requests.
import assert from 'node:assert/strict';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { TestEngine } from '../../../test/helpers/database.ts';
import { createSoftwareAuthenticator, type CeremonyOverrides, type SoftwareAlgorithm, type SoftwareAuthenticator, type SoftwareCredential } from '../../../test/helpers/software-authenticator.ts';
import { call, createUser, signIn, type Account } from '../../../test/security/authz.fixtures.ts';
import type { Tokens } from '../../../test/security/security.fixtures.ts';
import { mfaAppPerSuite, type MfaSuite } from '../mfa/mfa.fixtures.ts';

export const ORIGIN = 'http://localhost:8080';
export const ALGORITHMS: readonly SoftwareAlgorithm[] = ['ES256', 'Ed25519'];
/** Every refusal of a login is this problem, whatever check failed. */
export const PROBLEM_KEYS = ['code', 'request_id', 'status', 'title', 'type'];

export type Answer = Awaited<ReturnType<typeof call>>;

/** Inside a describe: one app on a fresh database of the engine, a manual clock, PUBLIC_URL at localhost. */
export function passkeyAppPerSuite(engine: TestEngine, env: Record<string, string> = {}): MfaSuite {
  return mfaAppPerSuite(engine, { PUBLIC_URL: ORIGIN, ...env });
}

export function newDevice(options: { readonly algorithm?: SoftwareAlgorithm; readonly synced?: boolean } = {}): SoftwareAuthenticator {
  return createSoftwareAuthenticator({ origin: ORIGIN, ...options });
}

export interface PasskeyAccount extends Account {
  readonly tokens: Tokens;
  readonly device: SoftwareAuthenticator;
  readonly credential: SoftwareCredential;
  readonly passkeyId: string;
  readonly recoveryCodes: string[];
}

export interface Registered {
  readonly passkey: { id: string; name: string; device_type: string; backed_up: boolean; transports: string[] };
  readonly recovery_codes: string[] | null;
}

export async function registrationOptions(suite: MfaSuite, token: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const options = await call(suite.test, 'POST', '/v1/me/passkeys/options', { token });
  assert.equal(options.status, 200, options.body);
  return options.json<PublicKeyCredentialCreationOptionsJSON>();
}

/** Asks for registration options, lets `device` answer them, and posts the answer. */
export async function registerOver(suite: MfaSuite, token: string, device: SoftwareAuthenticator, name?: string): Promise<Answer> {
  const response = device.register(await registrationOptions(suite, token));
  return call(suite.test, 'POST', '/v1/me/passkeys', { token, body: { response, ...(name === undefined ? {} : { name }) } });
}

/** A verified account with a password, signed in, and a first passkey registered over the routes. */
export async function passkeyAccount(suite: MfaSuite, options: { readonly algorithm?: SoftwareAlgorithm; readonly synced?: boolean; readonly label?: string } = {}): Promise<PasskeyAccount> {
  const account = await createUser(suite.test, { label: options.label ?? 'passkey' });
  const tokens = await signIn(suite.test, account);
  const device = newDevice(options);
  const registered = await registerOver(suite, tokens.access_token, device);
  assert.equal(registered.status, 201, registered.body);
  const body = registered.json<Registered>();
  assert.ok(body.recovery_codes !== null);
  return { ...account, tokens, device, credential: device.credentials[0] ?? assert.fail('the device holds no credential'), passkeyId: body.passkey.id, recoveryCodes: body.recovery_codes };
}

export async function passwordlessOptions(suite: MfaSuite): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const options = await call(suite.test, 'POST', '/v1/auth/passkey/options');
  assert.equal(options.status, 200, options.body);
  return options.json<PublicKeyCredentialRequestOptionsJSON>();
}

/** A passwordless login: new options, the device's assertion (with `overrides`), posted. */
export async function passwordless(suite: MfaSuite, device: SoftwareAuthenticator, overrides: CeremonyOverrides & { readonly credential?: SoftwareCredential } = {}): Promise<Answer> {
  const response = device.authenticate(await passwordlessOptions(suite), overrides);
  return call(suite.test, 'POST', '/v1/auth/passkey', { body: { response } });
}

export interface MfaRequired {
  readonly mfa_token: string;
  readonly methods: string[];
  readonly passkey_options: PublicKeyCredentialRequestOptionsJSON;
}

/** The password step of an account with a passkey: an mfa_token and the assertion options to sign. */
export async function passwordStep(suite: MfaSuite, account: Account): Promise<MfaRequired> {
  const first = await call(suite.test, 'POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
  assert.equal(first.status, 200, first.body);
  const body = first.json<MfaRequired & { mfa_required?: true }>();
  assert.equal(body.mfa_required, true, first.body);
  return body;
}

export async function reauthenticationOptions(suite: MfaSuite, token: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const options = await call(suite.test, 'POST', '/v1/auth/reauthenticate/passkey-options', { token });
  assert.equal(options.status, 200, options.body);
  return options.json<PublicKeyCredentialRequestOptionsJSON>();
}

/** The claims of an access token (its signature is the server's business, checked on every request). */
export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A refused login: 401 with `code` and nothing but the usual problem fields. */
export function assertRefused(answer: Answer, code: string, label: string): void {
  assert.deepEqual([answer.status, answer.code], [401, code], `${label}: ${answer.body}`);
  assert.deepEqual(Object.keys(answer.json()).sort(), PROBLEM_KEYS, label);
}
