// Shared by the authorization and admin suites: accounts created with roles directly
// (as the CLI and the admin API do), custom roles, and sign-in through the real login
// route, so every token and session is an ordinary one.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.ts';
import { logInWithFactor, meetMfaPolicy } from '../helpers/mfa.ts';
import type { TestDatabase, TestEngine } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { insertRole } from '../../src/features/authorization/roles-repo.ts';
import { createAccount } from '../../src/features/users/create-account.ts';
import { insertUser } from '../../src/features/users/repo.ts';
import type { Tokens } from './security.fixtures.ts';

export interface Account {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  /** For an account with a second factor: unused recovery codes, spent one per later login. */
  readonly recoveryCodes?: string[];
}

export interface SignedIn extends Account {
  readonly tokens: Tokens;
}

/** Functional traffic from one address must not trip the budgets (limit suites set their own). */
export const GENEROUS_LIMITS = { AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000', RATE_LIMIT_MAX: '100000' } as const;

export interface SuiteApp {
  readonly test: TestApp;
  readonly database: TestDatabase;
}

/** Inside a describe: one app (injected requests) on a fresh database of the engine, for the whole block. */
export function appPerSuite(engine: TestEngine, options: Pick<TestAppOptions, 'webApp'> = {}): SuiteApp {
  return appPerSuiteWith(engine, {}, options);
}

/** As appPerSuite, with more settings. */
export function appPerSuiteWith(engine: TestEngine, env: Record<string, string>, options: Pick<TestAppOptions, 'webApp' | 'clock'> = {}): SuiteApp {
  let test: TestApp | null = null;
  let database: TestDatabase | null = null;
  before(async () => {
    database = await engine.open();
    test = await startTestApp({ ...options, database: database.database, env: { ...GENEROUS_LIMITS, ...env } });
  });
  after(async () => {
    await test?.close();
    await database?.cleanup();
  });
  return {
    get test() {
      assert.ok(test !== null, 'used before the suite started');
      return test;
    },
    get database() {
      assert.ok(database !== null, 'used before the suite started');
      return database;
    },
  };
}

const SYSTEM = { actor: { type: 'system' as const }, context: { ip: null, userAgent: null, requestId: null } };

export async function createUser(test: TestApp, options: { roles?: readonly string[]; label?: string; name?: string } = {}): Promise<Account> {
  const email = uniqueEmail(options.label ?? 'authz');
  const password = strongPassword();
  const result = await createAccount(
    test.services.auth,
    { email, name: options.name ?? null, password, roles: options.roles ?? [], emailVerified: true },
    SYSTEM,
  );
  if (result.kind !== 'created') assert.fail(`creating ${email}: ${result.kind}`);
  return { id: result.id, email, password };
}

/** A user who never signs in (no password, so no policy check or hashing): a cheap target. */
export async function createTarget(test: TestApp, label = 'target'): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(label);
  const auth = test.services.auth;
  const id = await auth.db.transaction().execute((trx) =>
    insertUser(trx, auth, { email, name: null, passwordHash: null, emailVerified: true, roles: ['user'], now: new Date() }),
  );
  assert.ok(id !== null);
  return { id, email };
}

/** Logs in through the real routes; an account with a second factor spends one of its recovery codes. */
export async function signIn(test: TestApp, account: Account): Promise<Tokens> {
  return logInWithFactor<Tokens>(test, { email: account.email, password: account.password }, account.recoveryCodes);
}

/**
 * A user with `roles`, signed in. A role in MFA_REQUIRED_ROLES (admin by default) gets
 * what the policy demands: a TOTP factor, enrolled through the API, and a second-factor
 * session.
 */
export async function createSignedIn(test: TestApp, options: { roles?: readonly string[]; label?: string } = {}): Promise<SignedIn> {
  const account = await createUser(test, options);
  const tokens = await signIn(test, account);
  const enrolled = await meetMfaPolicy(test, options.roles ?? [], tokens.access_token);
  return enrolled === null ? { ...account, tokens } : { ...account, recoveryCodes: enrolled.recoveryCodes, tokens };
}

let roles = 0;
/** A custom role straight into the database, named uniquely. */
export async function createCustomRole(test: TestApp, permissions: readonly string[], label = 'custom'): Promise<string> {
  roles += 1;
  const name = `${label}-${process.pid}-${Date.now().toString(36)}-${roles}`;
  const db = test.services.auth.db;
  await db.transaction().execute(async (trx) => {
    assert.ok(await insertRole(trx, { name, description: 'test fixture', permissions, now: new Date() }));
  });
  return name;
}

/** `app.inject` with a bearer token. */
export async function call(
  test: TestApp,
  method: string,
  url: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; code: unknown; body: string; headers: Record<string, unknown>; json<T = Record<string, unknown>>(): T }> {
  const response = await test.app.inject({
    method: method as 'GET',
    url,
    ...(options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token}` } }),
    ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
  });
  let code: unknown;
  try {
    code = (JSON.parse(response.body) as Record<string, unknown>)['code'];
  } catch {
    code = undefined;
  }
  return { status: response.statusCode, code, body: response.body, headers: response.headers, json: <T>() => response.json<T>() };
}
