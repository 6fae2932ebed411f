// Mass assignment: a caller who adds fields the endpoint does not take (roles, status,
// verification, identity) must be refused outright, and nothing may change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findUserByEmailIndex } from '../../src/features/users/repo.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { createSignedIn, createTarget } from './authz.fixtures.ts';
import { logIn, problemCode, registerVerified, type Tokens } from './security.fixtures.ts';

for (const engine of testEngines()) {
  describe(`mass assignment attacks on ${engine.engine}`, () => {
    let app: EngineApp;
    before(async () => {
      app = await startEngineApp(engine);
    });
    after(() => app.close());

    async function signedIn(): Promise<{ email: string; tokens: Tokens }> {
      const email = uniqueEmail('mass');
      const password = strongPassword();
      await registerVerified(app, email, password);
      return { email, tokens: await logIn(app, email, password) };
    }

    /** Everything stored about the user that a profile update could touch. */
    async function snapshot(userId: string): Promise<unknown> {
      const db = app.database.db;
      return {
        user: await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow(),
        roles: await db.selectFrom('user_roles').select(['role']).where('user_id', '=', userId).orderBy('role').execute(),
      };
    }

    it('control: PATCH /v1/me changes the name, the one field it takes', async () => {
      const { tokens } = await signedIn();
      const patched = await app.client.request('PATCH', '/v1/me', { token: tokens.access_token, body: { name: 'Mallory' } });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json()['name'], 'Mallory');
    });

    it('PATCH /v1/me with roles, status, email_verified, email or id is refused and changes nothing', async () => {
      const { tokens } = await signedIn();
      const profile = (await app.client.request('GET', '/v1/me', { token: tokens.access_token })).json();
      const userId = String(profile['id']);
      const before = await snapshot(userId);
      const attempts: Record<string, unknown>[] = [
        { roles: ['admin'] },
        { roles: ['user', 'admin'] },
        { status: 'disabled' },
        { status: 'active' },
        { email_verified: false },
        { email_verified_at: null },
        { emailVerified: false },
        { email: uniqueEmail('hijack') },
        { id: '00000000-0000-7000-8000-000000000000' },
        { password_hash: '$argon2id$v=19$m=1024,t=1,p=1$AAAA$AAAA' },
        { created_at: '2000-01-01T00:00:00Z' },
        { name: 'Mallory', roles: ['admin'] },
        { name: 'Mallory', email: uniqueEmail('hijack') },
        { name: 'Mallory', id: '00000000-0000-7000-8000-000000000000' },
      ];
      for (const body of attempts) {
        const response = await app.client.request('PATCH', '/v1/me', { token: tokens.access_token, body });
        assert.equal(response.status, 400, `${JSON.stringify(body)} -> ${response.status}`);
        assert.equal(problemCode(response), 'invalid_request');
      }
      assert.deepEqual(await snapshot(userId), before);
      const after = (await app.client.request('GET', '/v1/me', { token: tokens.access_token })).json();
      assert.deepEqual(after, profile);
      assert.deepEqual(after['roles'], ['user']);
    });

    it('prototype-pollution keys in a PATCH body are refused and change nothing', async () => {
      const { tokens } = await signedIn();
      const profile = (await app.client.request('GET', '/v1/me', { token: tokens.access_token })).json();
      const before = await snapshot(String(profile['id']));
      const raw = [
        '{"name":"Mallory","__proto__":{"roles":["admin"]}}',
        '{"name":"Mallory","constructor":{"prototype":{"roles":["admin"]}}}',
      ];
      for (const body of raw) {
        const response = await fetch(`${app.baseURL}/v1/me`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.access_token}` },
          body,
        });
        assert.equal(response.status, 400, body);
        await response.body?.cancel();
      }
      assert.deepEqual(await snapshot(String(profile['id'])), before);
      assert.equal(({} as Record<string, unknown>)['roles'], undefined, 'Object.prototype is untouched');
    });

    it('registering with extra fields (roles, email_verified) is refused and creates no account', async () => {
      const attempts: Record<string, unknown>[] = [
        { roles: ['admin'] },
        { email_verified: true },
        { status: 'active' },
        { id: '00000000-0000-7000-8000-000000000000' },
      ];
      for (const extra of attempts) {
        const email = uniqueEmail('mass-register');
        const response = await app.client.request('POST', '/v1/auth/register', { body: { email, password: strongPassword(), ...extra } });
        assert.equal(response.status, 400, `${JSON.stringify(extra)} -> ${response.status}`);
        assert.equal(problemCode(response), 'invalid_request');
        await app.settle();
        assert.equal(await findUserByEmailIndex(app.database.db, app.services.auth.blindIndex.email(email)), null);
        assert.equal(app.mails.filter((mail) => mail.to === email).length, 0);
      }
    });

    it('PATCH /v1/admin/users/{id} with roles, email, email_verified or id is refused and changes nothing', async () => {
      const admin = await createSignedIn(app, { roles: ['admin'], label: 'mass-admin' });
      const target = await createTarget(app, 'mass-target');
      const before = await snapshot(target.id);
      const attempts: Record<string, unknown>[] = [
        { roles: ['admin'] },
        { name: 'Mallory', roles: ['admin'] },
        { email: uniqueEmail('hijack') },
        { status: 'disabled', email: uniqueEmail('hijack') },
        { email_verified: false },
        { id: '00000000-0000-7000-8000-000000000000' },
        { password_hash: '$argon2id$v=19$m=1024,t=1,p=1$AAAA$AAAA' },
        { status: 'suspended' },
        {},
      ];
      for (const body of attempts) {
        const response = await app.client.request('PATCH', `/v1/admin/users/${target.id}`, { token: admin.tokens.access_token, body });
        assert.equal(response.status, 400, `${JSON.stringify(body)} -> ${response.status}`);
        assert.equal(problemCode(response), 'invalid_request');
      }
      assert.deepEqual(await snapshot(target.id), before);
    });

    it('POST /v1/admin/roles refuses unknown permissions, fields and malformed names', async () => {
      const admin = await createSignedIn(app, { roles: ['admin'], label: 'mass-admin' });
      const attempts: Record<string, unknown>[] = [
        { name: 'mass-role', permissions: ['users:*'] },
        { name: 'mass-role', permissions: ['root'] },
        { name: 'mass-role', permissions: [], built_in: true },
        { name: 'Mass Role', permissions: [] },
      ];
      for (const body of attempts) {
        const response = await app.client.request('POST', '/v1/admin/roles', { token: admin.tokens.access_token, body });
        assert.equal(response.status, 400, `${JSON.stringify(body)} -> ${response.status}`);
      }
      assert.equal(await app.database.db.selectFrom('roles').select('name').where('name', 'in', ['mass-role', 'Mass Role']).executeTakeFirst(), undefined);
    });
  });
}
