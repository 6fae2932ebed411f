// The embedded database has one connection. Admin changes check permissions inside the
// transaction that makes them; when such a check missed the permission cache it asked
// for a second connection and waited for its own transaction forever, and with it every
// request but /healthz. These are the sequences that froze the server, over real HTTP on
// PGlite, each bounded in time. The freeze needed the cache entry filled by the route's
// own access check to expire before the guard inside the transaction read it, which by
// wall clock is a matter of luck (a slow password hash, a request landing on the 1 s
// boundary); here the server's clock moves just over the cache lifetime every time it is read, so every such
// guard misses the cache, as it did in the field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { meetMfaPolicy } from '../helpers/mfa.ts';
import { createUser, type Account } from '../security/authz.fixtures.ts';
import { logIn, type Tokens } from '../security/security.fixtures.ts';

const pglite = testEngines().find((engine) => engine.engine === 'pglite')!;

/** Real time, moving 1.001 s further on each read: a permission cached by one read has expired at the next. */
function hurriedClock(): () => Date {
  let offset = 0;
  return () => {
    offset += 1001;
    return new Date(Date.now() + offset);
  };
}

describe('admin changes on the single embedded connection', { timeout: 120_000 }, () => {
  let app: EngineApp;
  let admin: Account & { tokens: Tokens };
  before(async () => {
    app = await startEngineApp(pglite, { env: { LOCKOUT_THRESHOLD: '100' }, clock: hurriedClock() });
    admin = await signedIn(['admin'], 'one-conn-admin');
  });
  after(() => app.close());

  async function signedIn(roles: string[], label: string): Promise<Account & { tokens: Tokens }> {
    const account = await createUser(app, { roles, label });
    const tokens = await logIn(app, account.email, account.password);
    // MFA_REQUIRED_ROLES (admin by default): a factor first, in this session.
    await meetMfaPolicy(app, roles, tokens.access_token);
    return { ...account, tokens };
  }

  function as<T = Record<string, unknown>>(who: { tokens: Tokens }, method: string, path: string, body?: unknown): Promise<JSONResponse<T>> {
    return app.client.request<T>(method, path, { token: who.tokens.access_token, ...(body === undefined ? {} : { body }) });
  }

  async function stillServing(): Promise<void> {
    assert.equal((await app.client.request('GET', '/readyz')).status, 200);
    assert.equal((await as(admin, 'GET', '/v1/me')).status, 200);
  }

  it('assigning a role, then removing it once the permission cache has expired, both answer', { timeout: 20_000 }, async () => {
    const target = await createUser(app, { label: 'one-conn-target' });
    assert.equal((await as(admin, 'PUT', `/v1/admin/users/${target.id}/roles/auditor`)).status, 200);
    const removed = await as(admin, 'DELETE', `/v1/admin/users/${target.id}/roles/auditor`);
    assert.equal(removed.status, 200, removed.text);
    await stillServing();
  });

  it('two admins demoting each other at once: one succeeds, the last admin stays, nothing hangs', { timeout: 20_000 }, async () => {
    const first = await signedIn(['admin'], 'one-conn-a');
    const second = await signedIn(['admin'], 'one-conn-b');
    const [a, b] = await Promise.all([
      as(first, 'DELETE', `/v1/admin/users/${second.id}/roles/admin`),
      as(second, 'DELETE', `/v1/admin/users/${first.id}/roles/admin`),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 403], 'the first demotion wins; the other actor is no longer an admin');
    assert.ok([a.status, b.status].includes(200), `${a.status} ${b.status}`);
    await stillServing();
  });

  it('creating a user while two dozen wrong-password logins are in flight answers 201', { timeout: 30_000 }, async () => {
    const victim = await createUser(app, { label: 'one-conn-victim' });
    const logins = Array.from({ length: 24 }, () =>
      app.client.request('POST', '/v1/auth/login', { body: { email: victim.email, password: `${victim.password}x` } }),
    );
    const created = as(admin, 'POST', '/v1/admin/users', { email: uniqueEmail('one-conn-new'), password: strongPassword(), roles: ['auditor'] });
    const [response, ...failed] = await Promise.all([created, ...logins]);
    assert.equal(response.status, 201, response.text);
    assert.ok(failed.every((login) => login.status === 401), failed.map((login) => login.status).join(','));
    await stillServing();
  });

  it('replacing and deleting a custom role after the cache expired both answer', { timeout: 20_000 }, async () => {
    const created = await as(admin, 'POST', '/v1/admin/roles', { name: 'one-conn-role', description: 'probe', permissions: ['users:read'] });
    assert.equal(created.status, 201, created.text);
    const replaced = await as(admin, 'PUT', '/v1/admin/roles/one-conn-role', { description: 'probe', permissions: ['users:read', 'audit:read'] });
    assert.equal(replaced.status, 200, replaced.text);
    const deleted = await as(admin, 'DELETE', '/v1/admin/roles/one-conn-role');
    assert.equal(deleted.status, 204, deleted.text);
    await stillServing();
  });
});
