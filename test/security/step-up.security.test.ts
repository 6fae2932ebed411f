// Step-up and MFA_REQUIRED_ROLES, read from the OpenAPI document so a route added later
// is covered without editing this file: every operation marked `x-step-up` refuses a
// session authenticated longer ago than REAUTH_MAX_AGE and serves it again after
// POST /v1/auth/reauthenticate; a user whose role requires a second factor but who has
// none reaches only the operations marked `x-mfa-enrollment`; and administration needs a
// session that used the second factor.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { call, createCustomRole, createUser } from './authz.fixtures.ts';
import { bearer, codeNow, enrolledAccount, mfaAppPerSuite, passwordStep } from '../../src/features/mfa/mfa.fixtures.ts';
import { enrolTotp } from '../helpers/mfa.ts';

const REAUTH_MAX_AGE = 600;

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly isPublic: boolean;
  readonly stepUp: boolean;
  readonly enrolment: boolean;
  readonly hasBody: boolean;
}

type Document = { paths: Record<string, Record<string, { 'x-access'?: Record<string, unknown>; 'x-step-up'?: true; 'x-mfa-enrollment'?: true; requestBody?: unknown }>> };

// Routes that end the caller's session or remove the factor the suite relies on run last.
const LAST = new Set(['POST /v1/auth/logout', 'DELETE /v1/me/mfa/totp', 'DELETE /v1/me/sessions']);

function operationsOf(document: Document): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        isPublic: operation['x-access']?.['public'] === true,
        stepUp: operation['x-step-up'] === true,
        enrolment: operation['x-mfa-enrollment'] === true,
        hasBody: operation.requestBody !== undefined,
      });
    }
  }
  const weight = (operation: Operation): number => (LAST.has(`${operation.method} ${operation.path}`) ? 1 : 0);
  return operations.sort((a, b) => weight(a) - weight(b));
}

// Every path parameter a well-formed value: the gates run before anything looks it up.
const urlOf = (operation: Operation): string => operation.path.replace(/\{id\}/g, randomUUID()).replace(/\{[^}]+\}/g, 'user');

for (const engine of testEngines()) {
  describe(`step-up and required second factors on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { REAUTH_MAX_AGE: String(REAUTH_MAX_AGE) });
    let operations: Operation[];

    before(async () => {
      const document = await suite.test.app.inject({ method: 'GET', url: '/docs/json' });
      operations = operationsOf(document.json<Document>());
    });

    async function request(operation: Operation, token: string): Promise<{ status: number; code: unknown }> {
      const response = await call(suite.test, operation.method, urlOf(operation), { token, ...(operation.hasBody ? { body: {} } : {}) });
      return { status: response.status, code: response.code };
    }

    it('marks the sensitive actions the policy names as step-up', () => {
      const marked = new Set(operations.filter((operation) => operation.stepUp).map((operation) => `${operation.method} ${operation.path}`));
      for (const expected of [
        'POST /v1/me/password',
        'POST /v1/me/mfa/totp',
        'POST /v1/me/mfa/totp/confirm',
        'DELETE /v1/me/mfa/totp',
        'POST /v1/me/mfa/recovery-codes',
        'POST /v1/me/passkeys/options',
        'POST /v1/me/passkeys',
        'DELETE /v1/me/passkeys/{id}',
        'POST /v1/admin/users',
        'PUT /v1/admin/users/{id}/roles/{role}',
        'DELETE /v1/admin/users/{id}/roles/{role}',
        'DELETE /v1/admin/users/{id}/mfa',
        'POST /v1/admin/roles',
        'PUT /v1/admin/roles/{name}',
        'DELETE /v1/admin/roles/{name}',
      ]) {
        assert.ok(marked.has(expected), `${expected} is not a step-up action`);
      }
      assert.ok(operations.every((operation) => !(operation.stepUp && operation.isPublic)), 'a public route cannot demand a recent authentication');
    });

    it('every step-up action refuses a stale session (401 reauthentication_required) and serves it after reauthenticate', async () => {
      const admin = await enrolledAccount(suite, { roles: ['admin'], label: 'stale-admin' });
      const stepUp = operations.filter((operation) => operation.stepUp);
      suite.time.advanceSeconds(REAUTH_MAX_AGE + 1);
      for (const operation of stepUp) {
        const answer = await request(operation, admin.tokens.access_token);
        assert.deepEqual([answer.status, answer.code], [401, 'reauthentication_required'], `${operation.method} ${operation.path}`);
      }
      // Other routes do not ask for it.
      assert.equal((await call(suite.test, 'GET', '/v1/me', { token: admin.tokens.access_token })).status, 200);

      // A password alone does not re-authenticate an account with a second factor, nor a wrong code.
      const reauth = (body: Record<string, unknown>) => call(suite.test, 'POST', '/v1/auth/reauthenticate', { token: admin.tokens.access_token, body });
      assert.equal((await reauth({ password: admin.password })).code, 'invalid_mfa_code');
      assert.equal((await reauth({ password: `${admin.password}x`, code: codeNow(admin.secret, suite.time) })).code, 'invalid_credentials');
      const renewed = await reauth({ password: admin.password, code: codeNow(admin.secret, suite.time) });
      assert.equal(renewed.status, 200, renewed.body);
      assert.equal(renewed.json()['auth_time'], suite.time.clock().toISOString());
      assert.deepEqual(renewed.json()['amr'], ['mfa', 'otp', 'pwd']);
      for (const operation of stepUp) {
        const answer = await request(operation, admin.tokens.access_token);
        assert.ok(answer.code !== 'reauthentication_required' && answer.status !== 401 && answer.status < 500, `${operation.method} ${operation.path}: ${answer.status} ${String(answer.code)}`);
      }
    });

    it('a user without a second factor re-authenticates with the password alone; a wrong one counts as a failed login', async () => {
      const user = await createUser(suite.test, { label: 'plain-reauth' });
      const tokens = (await passwordStep(suite.test, user)).body;
      suite.time.advanceSeconds(REAUTH_MAX_AGE + 1);
      const change = () => call(suite.test, 'POST', '/v1/me/password', { token: tokens.access_token!, body: { current_password: user.password, new_password: `${user.password}-2` } });
      assert.equal((await change()).code, 'reauthentication_required');
      assert.equal((await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token: tokens.access_token!, body: { password: 'not-it' } })).code, 'invalid_credentials');
      const failures = await suite.test.services.auth.db.selectFrom('audit_events').select('id').where('action', '=', 'auth.login_failed').where('target_id', '=', user.id).execute();
      assert.equal(failures.length, 1);
      assert.equal((await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token: tokens.access_token!, body: { password: user.password } })).status, 200);
      assert.equal((await change()).status, 204);
    });

    it('MFA_REQUIRED_ROLES: an admin without a factor reaches only the enrolment operations, then enrols and administers', async () => {
      const admin = await createUser(suite.test, { roles: ['admin'], label: 'unenrolled-admin' });
      const tokens = (await passwordStep(suite.test, admin)).body;
      const token = tokens.access_token!;
      for (const operation of operations.filter((candidate) => !candidate.isPublic && !LAST.has(`${candidate.method} ${candidate.path}`))) {
        const answer = await request(operation, token);
        if (operation.enrolment) assert.notEqual(answer.code, 'mfa_enrollment_required', `${operation.method} ${operation.path} is an enrolment route`);
        else assert.deepEqual([answer.status, answer.code], [403, 'mfa_enrollment_required'], `${operation.method} ${operation.path}`);
      }
      // Enrolling in this session makes it a second-factor session: administration opens.
      await enrolTotp(suite.test, token, suite.time.clock());
      assert.equal((await call(suite.test, 'GET', '/v1/admin/users', { token })).status, 200);
    });

    it('administration needs a session that used the second factor: a password session of an enrolled admin is refused until it re-authenticates', async () => {
      const admin = await createUser(suite.test, { roles: ['admin'], label: 'two-sessions' });
      const first = (await passwordStep(suite.test, admin)).body.access_token!;
      const second = (await passwordStep(suite.test, admin)).body.access_token!;
      const { secret } = await enrolTotp(suite.test, first, suite.time.clock());
      suite.time.advanceSeconds(30);
      assert.equal((await call(suite.test, 'GET', '/v1/admin/users', { token: first })).status, 200);
      const refused = await call(suite.test, 'GET', '/v1/admin/users', { token: second });
      assert.deepEqual([refused.status, refused.code], [403, 'mfa_required']);
      assert.equal((await call(suite.test, 'GET', '/v1/me', { token: second })).status, 200, 'the session itself is valid');
      const renewed = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token: second, body: { password: admin.password, code: codeNow(secret, suite.time) } });
      assert.equal(renewed.status, 200, renewed.body);
      assert.equal((await call(suite.test, 'GET', '/v1/admin/users', { token: second })).status, 200);
    });

    it("removing a user's second factors needs a second-factor session, whatever the caller's roles (a phished support password is not enough)", async () => {
      const role = await createCustomRole(suite.test, ['users:read', 'users:write'], 'helpdesk');
      const helpdesk = await createUser(suite.test, { roles: [role], label: 'helpdesk' });
      const victim = await enrolledAccount(suite, { label: 'reset-victim' });
      const token = (await passwordStep(suite.test, helpdesk)).body.access_token!;
      const refused = await call(suite.test, 'DELETE', `/v1/admin/users/${victim.id}/mfa`, { token });
      assert.deepEqual([refused.status, refused.code], [403, 'mfa_required']);
      assert.equal((await passwordStep(suite.test, victim)).body.mfa_required, true, 'the victim keeps their factor');
      // With a factor of their own, used in the session, the same helpdesk user may.
      await enrolTotp(suite.test, token, suite.time.clock());
      assert.equal((await call(suite.test, 'DELETE', `/v1/admin/users/${victim.id}/mfa`, { token })).status, 204);
    });

    it("a stranger's flood of wrong passwords does not lock the owner out of step-up in their own session", async () => {
      const owner = await createUser(suite.test, { label: 'flooded' });
      const token = (await passwordStep(suite.test, owner)).body.access_token!;
      for (let attempt = 0; attempt < 8; attempt += 1) await passwordStep(suite.test, { email: owner.email, password: `${owner.password}-guess-${attempt}` });
      assert.equal((await passwordStep(suite.test, owner)).status, 429, 'anonymous attempts are locked');
      const renewed = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token, body: { password: owner.password } });
      assert.equal(renewed.status, 200, renewed.body);
    });

    it('enrolling a factor again does not renew the authentication time: a session cannot stay recent by replacing its factor', async () => {
      const admin = await enrolledAccount(suite, { roles: ['admin'], label: 'cycler' });
      suite.time.advanceSeconds(REAUTH_MAX_AGE - 100);
      assert.equal((await suite.test.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: bearer(admin.tokens.access_token) })).statusCode, 204);
      const restarted = await enrolTotp(suite.test, admin.tokens.access_token, suite.time.clock());
      assert.equal(restarted.recoveryCodes.length, 10);
      suite.time.advanceSeconds(200);
      const stale = await call(suite.test, 'POST', '/v1/me/mfa/recovery-codes', { token: admin.tokens.access_token });
      assert.deepEqual([stale.status, stale.code], [401, 'reauthentication_required']);
    });

    it('a role that requires a second factor takes effect on the next request of a session that already exists', async () => {
      const admin = await enrolledAccount(suite, { roles: ['admin'], label: 'granter' });
      const user = await createUser(suite.test, { label: 'promoted' });
      const token = (await passwordStep(suite.test, user)).body.access_token!;
      assert.equal((await call(suite.test, 'GET', '/v1/me', { token })).status, 200);
      const granted = await suite.test.app.inject({ method: 'PUT', url: `/v1/admin/users/${user.id}/roles/admin`, headers: bearer(admin.tokens.access_token) });
      assert.equal(granted.statusCode, 200, granted.body);
      const refused = await call(suite.test, 'GET', '/v1/me', { token });
      assert.deepEqual([refused.status, refused.code], [403, 'mfa_enrollment_required']);
    });
  });
}
