// The admin API end to end over real HTTP, on PGlite and on PostgreSQL: users (list,
// search, page, create, read, rename, disable, enable, delete, roles, unlock, sessions,
// password reset) and custom roles. Every change leaves an audit event naming the admin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PERMISSIONS } from '../../src/features/authorization/permissions.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { createTarget, createUser, type Account } from '../security/authz.fixtures.ts';
import { meetMfaPolicy } from '../helpers/mfa.ts';
import { logIn, problemCode, registerVerified, type Tokens } from '../security/security.fixtures.ts';

interface AdminUser {
  id: string;
  email: string | null;
  name: string | null;
  email_verified: boolean;
  status: 'active' | 'disabled';
  roles: string[];
  locked_until: string | null;
}

interface UserPage {
  users: AdminUser[];
  next_cursor: string | null;
}

const LOCKOUT_THRESHOLD = 3;

for (const engine of testEngines()) {
  describe(`admin API over HTTP on ${engine.engine}`, () => {
    let app: EngineApp;
    let admin: Account & { tokens: Tokens };
    before(async () => {
      app = await startEngineApp(engine, { env: { LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD) } });
      const account = await createUser(app, { roles: ['admin'], label: 'e2e-admin' });
      const tokens = await logIn(app, account.email, account.password);
      // MFA_REQUIRED_ROLES (admin by default): a factor first, in this session.
      await meetMfaPolicy(app, ['admin'], tokens.access_token);
      admin = { ...account, tokens };
    });
    after(() => app.close());

    function as<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<JSONResponse<T>> {
      return app.client.request<T>(method, path, { token: admin.tokens.access_token, ...(body === undefined ? {} : { body }) });
    }

    async function signedInUser(label: string, roles: string[] = []): Promise<Account & { tokens: Tokens }> {
      const account = await createUser(app, { roles, label });
      const tokens = await logIn(app, account.email, account.password);
      await meetMfaPolicy(app, roles, tokens.access_token);
      return { ...account, tokens };
    }

    /** Audit events of this action by the admin, on this target (a user id, session id or role name). */
    async function audited(action: string, targetId: string): Promise<number> {
      const rows = await app.database.db
        .selectFrom('audit_events')
        .select(['actor_type', 'outcome'])
        .where('action', '=', action)
        .where('actor_id', '=', admin.id)
        .where('target_id', '=', targetId)
        .execute();
      for (const row of rows) assert.deepEqual(row, { actor_type: 'user', outcome: 'success' });
      return rows.length;
    }

    it('lists users: exact email search through the blind index, status filter, cursor pages over every user', async () => {
      const created: Account[] = [];
      for (let i = 0; i < 5; i += 1) created.push(await createUser(app, { label: 'listed' }));
      const wanted = created[2]!;

      const search = await as<UserPage>('GET', `/v1/admin/users?query=${encodeURIComponent(wanted.email.toUpperCase())}`);
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.json().users.map((user) => [user.id, user.email]), [[wanted.id, wanted.email]]);
      const partial = await as<UserPage>('GET', `/v1/admin/users?query=${encodeURIComponent(`x${wanted.email}`)}`);
      assert.deepEqual(partial.json().users, [], 'no partial matching');

      assert.equal((await as('PATCH', `/v1/admin/users/${created[0]!.id}`, { status: 'disabled' })).status, 200);
      const disabled = (await as<UserPage>('GET', '/v1/admin/users?status=disabled&limit=100')).json().users;
      assert.ok(disabled.some((user) => user.id === created[0]!.id));
      assert.ok(disabled.every((user) => user.status === 'disabled'));
      const active = (await as<UserPage>('GET', '/v1/admin/users?status=active&limit=100')).json().users;
      assert.ok(!active.some((user) => user.id === created[0]!.id));

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: UserPage = (await as<UserPage>('GET', `/v1/admin/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)).json();
        assert.ok(page.users.length <= 2);
        seen.push(...page.users.map((user) => user.id));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 100);
      const total = await app.database.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
      assert.equal(seen.length, Number(total.count), 'every user, once');
      assert.equal(new Set(seen).size, seen.length);
      assert.deepEqual(seen, [...seen].sort(), 'in id (creation) order');
      for (const user of created) assert.ok(seen.includes(user.id));
      assert.ok(pages >= 3);

      const invalid = await as('GET', '/v1/admin/users?query=not-an-email');
      assert.equal(invalid.status, 400);
    });

    it('creates a user (201), refusing a weak password, a taken email and an unknown role', async () => {
      const email = uniqueEmail('created');
      const password = strongPassword();
      const created = await as<AdminUser>('POST', '/v1/admin/users', { email, password, name: 'Grace', roles: ['support'], email_verified: true });
      assert.equal(created.status, 201, created.text);
      const user = created.json();
      assert.deepEqual({ ...user, id: '' }, { ...user, id: '', email, name: 'Grace', email_verified: true, status: 'active', roles: ['support', 'user'] });
      assert.ok(!created.text.includes(password) && !created.text.includes('password'));
      assert.equal(await audited('user.created', user.id), 1);
      const tokens = await logIn(app, email, password);
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: tokens.access_token })).status, 200, 'holds support');

      const weak = await as('POST', '/v1/admin/users', { email: uniqueEmail('weak'), password: 'password1234' });
      assert.equal(weak.status, 400);
      assert.equal(problemCode(weak), 'weak_password');
      const taken = await as('POST', '/v1/admin/users', { email: email.toUpperCase(), password: strongPassword() });
      assert.equal(taken.status, 409);
      assert.equal(problemCode(taken), 'conflict');
      const unknownRole = await as('POST', '/v1/admin/users', { email: uniqueEmail('norole'), password: strongPassword(), roles: ['no-such-role'] });
      assert.equal(unknownRole.status, 400);
      assert.equal(problemCode(unknownRole), 'invalid_request');
    });

    it('reads a user, renames them, and answers 404 for an unknown id', async () => {
      const target = await createUser(app, { label: 'read', name: 'Ada' });
      const read = await as<AdminUser>('GET', `/v1/admin/users/${target.id}`);
      assert.equal(read.status, 200);
      assert.equal(read.json().email, target.email);
      assert.equal(read.json().name, 'Ada');
      const renamed = await as<AdminUser>('PATCH', `/v1/admin/users/${target.id}`, { name: 'Ada L.' });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.json().name, 'Ada L.');
      assert.equal(await audited('user.updated', target.id), 1);
      const missing = await as('GET', '/v1/admin/users/00000000-0000-7000-8000-000000000000');
      assert.equal(missing.status, 404);
      assert.equal(problemCode(missing), 'not_found');
    });

    it('disables a user (login 403 account_disabled, sessions die) and enables them again', async () => {
      const user = await signedInUser('disable');
      const disabled = await as<AdminUser>('PATCH', `/v1/admin/users/${user.id}`, { status: 'disabled' });
      assert.equal(disabled.status, 200, disabled.text);
      assert.equal(disabled.json().status, 'disabled');
      assert.equal(await audited('user.disabled', user.id), 1);
      assert.equal((await app.client.request('GET', '/v1/me', { token: user.tokens.access_token })).status, 401);
      assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: user.tokens.refresh_token } })).status, 401);
      const login = await app.client.request('POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(login.status, 403);
      assert.equal(problemCode(login), 'account_disabled');

      const enabled = await as<AdminUser>('PATCH', `/v1/admin/users/${user.id}`, { status: 'active' });
      assert.equal(enabled.json().status, 'active');
      assert.equal(await audited('user.enabled', user.id), 1);
      await logIn(app, user.email, user.password);
    });

    it('deletes a user: 404 after, their data key is gone, and their email can register again', async () => {
      const user = await signedInUser('delete');
      const deleted = await as('DELETE', `/v1/admin/users/${user.id}`);
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal(await audited('user.deleted', user.id), 1);
      assert.equal((await as('GET', `/v1/admin/users/${user.id}`)).status, 404);
      assert.equal((await as('DELETE', `/v1/admin/users/${user.id}`)).status, 404);
      assert.equal((await app.client.request('GET', '/v1/me', { token: user.tokens.access_token })).status, 401);
      const keys = await app.database.db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', user.id).execute();
      assert.deepEqual(keys, [], 'crypto-shredded');
      const password = strongPassword();
      await registerVerified(app, user.email, password);
      await logIn(app, user.email, password);
    });

    it('assigns and removes a role, with immediate effect (GET /v1/me shows the roles and the permissions they grant)', async () => {
      const user = await signedInUser('roles');
      const own = async (): Promise<unknown> => {
        const me = (await app.client.request('GET', '/v1/me', { token: user.tokens.access_token })).json();
        return { roles: me['roles'], permissions: me['permissions'] };
      };
      // Read once, so the profile is cached: the admin's change must still show at once.
      assert.deepEqual(await own(), { roles: ['user'], permissions: [] });
      const assigned = await as<AdminUser>('PUT', `/v1/admin/users/${user.id}/roles/support`);
      assert.equal(assigned.status, 200, assigned.text);
      assert.deepEqual(assigned.json().roles, ['support', 'user']);
      assert.equal(await audited('role.assigned', user.id), 1);
      assert.deepEqual(await own(), { roles: ['support', 'user'], permissions: ['sessions:revoke', 'users:lock', 'users:read'] });
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: user.tokens.access_token })).status, 200);

      const removed = await as<AdminUser>('DELETE', `/v1/admin/users/${user.id}/roles/support`);
      assert.deepEqual(removed.json().roles, ['user']);
      assert.equal(await audited('role.removed', user.id), 1);
      assert.deepEqual(await own(), { roles: ['user'], permissions: [] });
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: user.tokens.access_token })).status, 403);
      assert.equal((await as('PUT', `/v1/admin/users/${user.id}/roles/no-such-role`)).status, 404);
    });

    it('unlocks an account locked by wrong passwords, and the right password works again', async () => {
      const user = await createUser(app, { label: 'locked' });
      for (let i = 0; i < LOCKOUT_THRESHOLD; i += 1) {
        const wrong = await app.client.request('POST', '/v1/auth/login', { body: { email: user.email, password: strongPassword() } });
        assert.equal(wrong.status, 401);
      }
      const locked = await app.client.request('POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(locked.status, 429, 'locked, even with the right password');
      // The admin sees the lock, on the user and in the list, until it is lifted.
      const lockEnd = (await as<AdminUser>('GET', `/v1/admin/users/${user.id}`)).json().locked_until;
      assert.ok(lockEnd !== null && Date.parse(lockEnd) > Date.now(), String(lockEnd));
      const listed = (await as<UserPage>('GET', `/v1/admin/users?query=${encodeURIComponent(user.email)}`)).json().users;
      assert.deepEqual(listed.map((row) => row.locked_until), [lockEnd]);
      assert.equal((await as<AdminUser>('GET', `/v1/admin/users/${admin.id}`)).json().locked_until, null);
      const unlocked = await as('POST', `/v1/admin/users/${user.id}/unlock`);
      assert.equal(unlocked.status, 204, unlocked.text);
      assert.equal(await audited('user.unlocked', user.id), 1);
      assert.equal((await as<AdminUser>('GET', `/v1/admin/users/${user.id}`)).json().locked_until, null);
      await logIn(app, user.email, user.password);
    });

    it('revokes every session of a user and says how many', async () => {
      const user = await signedInUser('revoke');
      const second = await logIn(app, user.email, user.password);
      const revoked = await as<{ revoked: number }>('POST', `/v1/admin/users/${user.id}/sessions/revoke`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.deepEqual(revoked.json(), { revoked: 2 });
      for (const tokens of [user.tokens, second]) {
        assert.equal(await audited('session.revoked', tokens.session_id), 1);
        assert.equal((await app.client.request('GET', '/v1/me', { token: tokens.access_token })).status, 401);
        assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401);
      }
      assert.deepEqual((await as('POST', `/v1/admin/users/${user.id}/sessions/revoke`)).json(), { revoked: 0 });
    });

    it('sends a password reset: a mail with a link to the user, every session revoked', async () => {
      const user = await signedInUser('admin-reset');
      const reset = await as('POST', `/v1/admin/users/${user.id}/password-reset`);
      assert.equal(reset.status, 204, reset.text);
      assert.equal(await audited('password.reset_requested', user.id), 1);
      assert.equal((await app.client.request('GET', '/v1/me', { token: user.tokens.access_token })).status, 401);
      await app.settle();
      const token = tokenFromMail(app.mails, user.email, /Reset your password/);
      const next = strongPassword();
      assert.equal((await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: next } })).status, 204);
      await logIn(app, user.email, next);
      const disabled = await createTarget(app, 'reset-disabled');
      await as('PATCH', `/v1/admin/users/${disabled.id}`, { status: 'disabled' });
      assert.equal((await as('POST', `/v1/admin/users/${disabled.id}/password-reset`)).status, 409, 'no reset for a disabled account');
    });

    it('lists the permission catalog a custom role is made from, each with a description', async () => {
      const catalog = await as<{ permissions: { name: string; description: string }[] }>('GET', '/v1/admin/permissions');
      assert.equal(catalog.status, 200, catalog.text);
      assert.deepEqual(catalog.json().permissions.map((permission) => permission.name), [...PERMISSIONS]);
      assert.ok(catalog.json().permissions.every((permission) => permission.description.length > 0));
      const support = await signedInUser('catalog-support', ['support']);
      assert.equal((await app.client.request('GET', '/v1/admin/permissions', { token: support.tokens.access_token })).status, 403, 'roles:read only');
    });

    it('creates, reads, replaces and deletes a custom role; its holders lose it', async () => {
      const name = `e2e-${Date.now().toString(36)}`;
      const created = await as('POST', '/v1/admin/roles', { name, description: 'Helpdesk', permissions: ['users:read'] });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.json()['permissions'], ['users:read']);
      assert.equal(created.json()['built_in'], false);
      assert.equal(await audited('role.created', name), 1);
      assert.equal((await as('POST', '/v1/admin/roles', { name, permissions: [] })).status, 409, 'a role of that name exists');
      const listed = (await as<Record<string, unknown>[]>('GET', '/v1/admin/roles')).json();
      assert.deepEqual(
        listed.filter((role) => role['built_in'] === true).map((role) => role['name']),
        ['admin', 'auditor', 'support', 'user'],
      );
      assert.ok(listed.some((role) => role['name'] === name));

      const holder = await signedInUser('holder', [name]);
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: holder.tokens.access_token })).status, 200);
      assert.equal((await app.client.request('GET', '/v1/admin/roles', { token: holder.tokens.access_token })).status, 403);

      const replaced = await as('PUT', `/v1/admin/roles/${name}`, { description: 'Helpdesk+', permissions: ['roles:read', 'users:read'] });
      assert.equal(replaced.status, 200, replaced.text);
      assert.deepEqual(replaced.json()['permissions'], ['roles:read', 'users:read']);
      assert.equal(await audited('role.updated', name), 1);
      assert.equal((await app.client.request('GET', '/v1/admin/roles', { token: holder.tokens.access_token })).status, 200, 'the new grant applies at once');
      const read = await as('GET', `/v1/admin/roles/${name}`);
      assert.equal(read.json()['description'], 'Helpdesk+');

      assert.equal((await as('DELETE', `/v1/admin/roles/${name}`)).status, 204);
      assert.equal(await audited('role.deleted', name), 1);
      assert.equal((await as('GET', `/v1/admin/roles/${name}`)).status, 404);
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: holder.tokens.access_token })).status, 403, 'holders lose it');
      assert.deepEqual((await as<AdminUser>('GET', `/v1/admin/users/${holder.id}`)).json().roles, ['user']);
    });
  });
}
