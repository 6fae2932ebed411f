// Privilege escalation: a caller with some admin powers reaching for more (granting roles
// they lack, defining a role richer than themselves, acting on someone more powerful),
// the last admin locked out of their own server, stale tokens keeping powers the
// database has taken away, and a token that claims a role its holder does not have.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { enrolTotp } from '../helpers/mfa.ts';
import pg from 'pg';
import { ADMIN_ROLE, PERMISSIONS } from '../../src/features/authorization/permissions.ts';
import type { TestApp } from '../helpers/app.ts';
import { testEngines } from '../helpers/database.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';
import { appPerSuite, call, createCustomRole, createSignedIn, createTarget, signIn, type SignedIn } from './authz.fixtures.ts';

for (const engine of testEngines()) {
  describe(`privilege escalation on ${engine.engine}`, () => {
    const suite = appPerSuite(engine);
    let test: TestApp;
    before(() => {
      test = suite.test;
    });

    async function rolesOf(userId: string): Promise<string[]> {
      const rows = await test.services.auth.db.selectFrom('user_roles').select('role').where('user_id', '=', userId).orderBy('role').execute();
      return rows.map((row) => row.role);
    }

    /** Makes every account that holds admin in this database a non-admin, so a test can set up "the last admin". */
    async function demoteEveryAdmin(): Promise<void> {
      await test.services.auth.db.deleteFrom('user_roles').where('role', '=', ADMIN_ROLE).execute();
      test.services.auth.authorizer.invalidate('roles');
    }

    /** A custom role with roles:assign and users:read: enough to assign, not enough to grant admin. */
    async function assigner(): Promise<SignedIn> {
      return createSignedIn(test, { roles: [await createCustomRole(test, ['roles:assign', 'users:read'], 'assigner')], label: 'assigner' });
    }

    it('a support user cannot assign any role', async () => {
      const support = await createSignedIn(test, { roles: ['support'], label: 'support' });
      const target = await createTarget(test);
      for (const role of ['support', 'admin', 'user']) {
        const response = await call(test, 'PUT', `/v1/admin/users/${target.id}/roles/${role}`, { token: support.tokens.access_token });
        assert.equal(response.status, 403, `${role}: ${response.body}`);
        assert.equal(response.code, 'forbidden');
      }
      const self = await call(test, 'PUT', `/v1/admin/users/${support.id}/roles/admin`, { token: support.tokens.access_token });
      assert.equal(self.status, 403);
      assert.deepEqual(await rolesOf(support.id), ['support', 'user']);
      assert.deepEqual(await rolesOf(target.id), ['user']);
    });

    it('roles:assign cannot grant admin or auditor (to others or to oneself), only roles within its own permissions', async () => {
      const actor = await assigner();
      const target = await createTarget(test);
      for (const [userId, role] of [[target.id, 'admin'], [target.id, 'auditor'], [actor.id, 'admin'], [actor.id, 'auditor'], [target.id, 'support']] as const) {
        const response = await call(test, 'PUT', `/v1/admin/users/${userId}/roles/${role}`, { token: actor.tokens.access_token });
        assert.equal(response.status, 403, `${role}: ${response.body}`);
        assert.equal(response.code, 'forbidden');
      }
      assert.deepEqual(await rolesOf(target.id), ['user']);
      // The control: a role inside its own permissions is granted.
      const within = await createCustomRole(test, ['users:read'], 'reader');
      const granted = await call(test, 'PUT', `/v1/admin/users/${target.id}/roles/${within}`, { token: actor.tokens.access_token });
      assert.equal(granted.status, 200, granted.body);
      assert.deepEqual(await rolesOf(target.id), [within, 'user'].sort());
    });

    it('a role definer cannot create or widen a role with permissions it lacks', async () => {
      const definer = await createSignedIn(test, { roles: [await createCustomRole(test, ['roles:write', 'roles:read'], 'definer')], label: 'definer' });
      const name = `escalate-${Date.now().toString(36)}`;
      const created = await call(test, 'POST', '/v1/admin/roles', { token: definer.tokens.access_token, body: { name, permissions: ['roles:write', 'users:delete'] } });
      assert.equal(created.status, 403, created.body);
      assert.equal(created.code, 'forbidden');
      assert.equal((await call(test, 'GET', `/v1/admin/roles/${name}`, { token: definer.tokens.access_token })).status, 404);

      const mine = await call(test, 'POST', '/v1/admin/roles', { token: definer.tokens.access_token, body: { name, permissions: ['roles:read'] } });
      assert.equal(mine.status, 201, mine.body);
      const widened = await call(test, 'PUT', `/v1/admin/roles/${name}`, { token: definer.tokens.access_token, body: { permissions: ['roles:read', 'audit:read'] } });
      assert.equal(widened.status, 403, widened.body);
      // Nor strip a permission it lacks from everyone holding a richer role.
      const rich = await createCustomRole(test, ['users:delete'], 'rich');
      const stripped = await call(test, 'PUT', `/v1/admin/roles/${rich}`, { token: definer.tokens.access_token, body: { permissions: [] } });
      assert.equal(stripped.status, 403, stripped.body);
      const deleted = await call(test, 'DELETE', `/v1/admin/roles/${rich}`, { token: definer.tokens.access_token });
      assert.equal(deleted.status, 403, deleted.body);
      const role = await call(test, 'GET', `/v1/admin/roles/${name}`, { token: definer.tokens.access_token });
      assert.deepEqual(role.json()['permissions'], ['roles:read']);
    });

    it('users:write and users:delete through a custom role cannot disable, reset, delete or demote an admin', async () => {
      const powerful = await createCustomRole(test, ['users:read', 'users:write', 'users:delete', 'users:lock', 'sessions:revoke', 'roles:assign', 'roles:read'], 'manager');
      const manager = await createSignedIn(test, { roles: [powerful], label: 'manager' });
      // A second-factor session, so the factor-removal attempt below meets the rank guard.
      await enrolTotp(test, manager.tokens.access_token);
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'victim-admin' });
      const attempts: [string, string, unknown?][] = [
        ['PATCH', `/v1/admin/users/${admin.id}`, { status: 'disabled' }],
        ['PATCH', `/v1/admin/users/${admin.id}`, { name: 'Pwned' }],
        ['POST', `/v1/admin/users/${admin.id}/password-reset`],
        ['DELETE', `/v1/admin/users/${admin.id}`],
        ['DELETE', `/v1/admin/users/${admin.id}/roles/${ADMIN_ROLE}`],
        // Stripping an admin's second factor would open their account to a password alone.
        ['DELETE', `/v1/admin/users/${admin.id}/mfa`],
      ];
      for (const [method, url, body] of attempts) {
        const response = await call(test, method, url, { token: manager.tokens.access_token, ...(body === undefined ? {} : { body }) });
        assert.equal(response.status, 403, `${method} ${url}: ${response.body}`);
        assert.equal(response.code, 'forbidden');
      }
      assert.equal((await call(test, 'GET', '/v1/me', { token: admin.tokens.access_token })).status, 200, 'the admin is untouched and signed in');
      assert.deepEqual(await rolesOf(admin.id), [ADMIN_ROLE, 'user']);
      assert.equal(test.mails.filter((mail) => mail.to === admin.email && /reset|removed/i.test(`${mail.subject} ${mail.text}`)).length, 0, 'no reset or removal mail went out');
      const factors = await test.services.auth.db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', admin.id).where('confirmed_at', 'is not', null).execute();
      assert.equal(factors.length, 1, "the admin's second factor is untouched");
      // The control: the same manager can manage a plain user.
      const plain = await createTarget(test);
      assert.equal((await call(test, 'PATCH', `/v1/admin/users/${plain.id}`, { token: manager.tokens.access_token, body: { status: 'disabled' } })).status, 200);
    });

    it('support cannot revoke an admin\'s sessions or unlock an admin locked by guessing', async () => {
      const support = await createSignedIn(test, { roles: ['support'], label: 'support' });
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'victim-admin' });
      const revoke = await call(test, 'POST', `/v1/admin/users/${admin.id}/sessions/revoke`, { token: support.tokens.access_token });
      assert.equal(revoke.status, 403, revoke.body);
      assert.equal(revoke.code, 'forbidden');
      assert.equal((await call(test, 'GET', '/v1/me', { token: admin.tokens.access_token })).status, 200, 'the admin is still signed in');
      const unlock = await call(test, 'POST', `/v1/admin/users/${admin.id}/unlock`, { token: support.tokens.access_token });
      assert.equal(unlock.status, 403, unlock.body);
      // The control: support does both for a plain user.
      const plain = await createSignedIn(test, { label: 'plain' });
      const revoked = await call(test, 'POST', `/v1/admin/users/${plain.id}/sessions/revoke`, { token: support.tokens.access_token });
      assert.deepEqual(revoked.json(), { revoked: 1 });
      assert.equal((await call(test, 'POST', `/v1/admin/users/${plain.id}/unlock`, { token: support.tokens.access_token })).status, 204);
    });

    it('a disabled admin is still out of reach: no re-enabling, renaming or deleting them through a lesser role', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      const dormant = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'dormant-admin' });
      assert.equal((await call(test, 'PATCH', `/v1/admin/users/${dormant.id}`, { token: admin.tokens.access_token, body: { status: 'disabled' } })).status, 200);
      const manager = await createSignedIn(test, { roles: [await createCustomRole(test, ['users:read', 'users:write', 'users:delete'], 'manager')], label: 'manager' });
      const attempts: [string, string, unknown?][] = [
        ['PATCH', `/v1/admin/users/${dormant.id}`, { status: 'active' }],
        ['PATCH', `/v1/admin/users/${dormant.id}`, { name: 'Pwned' }],
        ['DELETE', `/v1/admin/users/${dormant.id}`],
      ];
      for (const [method, url, body] of attempts) {
        const response = await call(test, method, url, { token: manager.tokens.access_token, ...(body === undefined ? {} : { body }) });
        assert.equal(response.status, 403, `${method} ${url}: ${response.body}`);
      }
      const row = await test.services.auth.db.selectFrom('users').select('status').where('id', '=', dormant.id).executeTakeFirst();
      assert.deepEqual(row, { status: 'disabled' });
    });

    it('the last admin cannot remove their admin role, be disabled or be deleted (409 last_admin)', async () => {
      await demoteEveryAdmin();
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'last-admin' });
      const attempts: [string, string, unknown?][] = [
        ['DELETE', `/v1/admin/users/${admin.id}/roles/${ADMIN_ROLE}`],
        ['PATCH', `/v1/admin/users/${admin.id}`, { status: 'disabled' }],
        ['DELETE', `/v1/admin/users/${admin.id}`],
      ];
      for (const [method, url, body] of attempts) {
        const response = await call(test, method, url, { token: admin.tokens.access_token, ...(body === undefined ? {} : { body }) });
        assert.equal(response.status, 409, `${method} ${url}: ${response.body}`);
        assert.equal(response.code, 'last_admin');
      }
      assert.deepEqual(await rolesOf(admin.id), [ADMIN_ROLE, 'user']);
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: admin.tokens.access_token })).status, 200, 'still an active admin');
      // With a second admin, the first may step down.
      const second = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'second-admin' });
      const stepDown = await call(test, 'DELETE', `/v1/admin/users/${admin.id}/roles/${ADMIN_ROLE}`, { token: admin.tokens.access_token });
      assert.equal(stepDown.status, 200, stepDown.body);
      const lastAgain = await call(test, 'DELETE', `/v1/admin/users/${second.id}`, { token: second.tokens.access_token });
      assert.equal(lastAgain.status, 409);
      assert.equal(lastAgain.code, 'last_admin');
    });

    it('a disabled admin does not count: the one active admin is still the last', async () => {
      await demoteEveryAdmin();
      const active = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'active-admin' });
      const dormant = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'dormant-admin' });
      assert.equal((await call(test, 'PATCH', `/v1/admin/users/${dormant.id}`, { token: active.tokens.access_token, body: { status: 'disabled' } })).status, 200);
      const response = await call(test, 'DELETE', `/v1/admin/users/${active.id}/roles/${ADMIN_ROLE}`, { token: active.tokens.access_token });
      assert.equal(response.status, 409);
      assert.equal(response.code, 'last_admin');
    });

    it('two admins demoting each other at once: at most one succeeds, and an admin remains', async () => {
      for (let round = 0; round < 3; round += 1) {
        await demoteEveryAdmin();
        const a = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'race-a' });
        const b = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'race-b' });
        const demotions = await Promise.all([
          call(test, 'DELETE', `/v1/admin/users/${b.id}/roles/${ADMIN_ROLE}`, { token: a.tokens.access_token }),
          call(test, 'DELETE', `/v1/admin/users/${a.id}/roles/${ADMIN_ROLE}`, { token: b.tokens.access_token }),
        ]);
        const ok = demotions.filter((response) => response.status === 200).length;
        assert.ok(ok <= 1, `round ${round}: both demotions succeeded`);
        for (const response of demotions) assert.ok(response.status === 200 || response.code === 'last_admin' || response.code === 'forbidden', response.body);
        const admins = await test.services.auth.db.selectFrom('user_roles').select('user_id').where('role', '=', ADMIN_ROLE).execute();
        assert.equal(admins.length, 1, `round ${round}: exactly one admin remains`);
      }
      // Disabling and deleting race the same way.
      await demoteEveryAdmin();
      const a = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'race-a' });
      const b = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'race-b' });
      await Promise.all([
        call(test, 'PATCH', `/v1/admin/users/${b.id}`, { token: a.tokens.access_token, body: { status: 'disabled' } }),
        call(test, 'DELETE', `/v1/admin/users/${a.id}`, { token: b.tokens.access_token }),
      ]);
      const remaining = await test.services.auth.db
        .selectFrom('user_roles')
        .innerJoin('users', 'users.id', 'user_roles.user_id')
        .select('users.id')
        .where('user_roles.role', '=', ADMIN_ROLE)
        .where('users.status', '=', 'active')
        .execute();
      assert.equal(remaining.length, 1, 'one active admin remains');
    });

    it('a role widened while an assignment of it waits is checked as widened: the role row is locked, not read early', {
      skip: engine.engine === 'pglite' ? 'PGlite has one connection: no second transaction can hold the row' : false,
    }, async () => {
      const actor = await assigner();
      const role = await createCustomRole(test, ['users:read'], 'widened');
      const target = await createTarget(test);
      const other = new pg.Client({ connectionString: suite.database.url ?? '' });
      await other.connect();
      try {
        // Another admin is changing the role: its transaction holds the row.
        await other.query('BEGIN');
        await other.query('UPDATE roles SET updated_at = now() WHERE name = $1', [role]);
        const pending = call(test, 'PUT', `/v1/admin/users/${target.id}/roles/${role}`, { token: actor.tokens.access_token });
        await new Promise((resolve) => setTimeout(resolve, 300));
        // ...and gives it a permission the assigner lacks, then commits.
        await other.query('INSERT INTO role_permissions (role, permission) VALUES ($1, $2)', [role, 'audit:read']);
        await other.query('COMMIT');
        const response = await pending;
        assert.equal(response.status, 403, response.body);
        assert.equal(response.code, 'forbidden');
        assert.deepEqual(await rolesOf(target.id), ['user']);
      } finally {
        await other.end();
      }
    });

    it('removing a role takes effect on the next request, not when the access token expires', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      const support = await createSignedIn(test, { roles: ['support'], label: 'support' });
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: support.tokens.access_token })).status, 200);
      const removed = await call(test, 'DELETE', `/v1/admin/users/${support.id}/roles/support`, { token: admin.tokens.access_token });
      assert.equal(removed.status, 200, removed.body);
      const after = await call(test, 'GET', '/v1/admin/users', { token: support.tokens.access_token });
      assert.equal(after.status, 403, 'the same access token lost the permission at once');
      assert.equal(after.code, 'forbidden');
      assert.equal((await call(test, 'GET', '/v1/me', { token: support.tokens.access_token })).status, 200, 'the session itself lives on');
    });

    it('changing what a role grants takes effect for its holders on the next request', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      const role = await createCustomRole(test, ['users:read'], 'shrinking');
      const holder = await createSignedIn(test, { roles: [role], label: 'holder' });
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: holder.tokens.access_token })).status, 200);
      assert.equal((await call(test, 'PUT', `/v1/admin/roles/${role}`, { token: admin.tokens.access_token, body: { permissions: [] } })).status, 200);
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: holder.tokens.access_token })).status, 403);
    });

    it('disabling a user kills their access token at once (401) and their refresh token', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      const support = await createSignedIn(test, { roles: ['support'], label: 'support' });
      assert.equal((await call(test, 'GET', '/v1/me', { token: support.tokens.access_token })).status, 200);
      const disabled = await call(test, 'PATCH', `/v1/admin/users/${support.id}`, { token: admin.tokens.access_token, body: { status: 'disabled' } });
      assert.equal(disabled.status, 200, disabled.body);
      assert.equal((await call(test, 'GET', '/v1/me', { token: support.tokens.access_token })).status, 401);
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: support.tokens.access_token })).status, 401);
      const refresh = await call(test, 'POST', '/v1/auth/refresh', { body: { refresh_token: support.tokens.refresh_token } });
      assert.equal(refresh.status, 401);
      const login = await call(test, 'POST', '/v1/auth/login', { body: { email: support.email, password: support.password } });
      assert.equal(login.status, 403);
      assert.equal(login.code, 'account_disabled');
      // Enabling again does not bring the old session back.
      assert.equal((await call(test, 'PATCH', `/v1/admin/users/${support.id}`, { token: admin.tokens.access_token, body: { status: 'active' } })).status, 200);
      assert.equal((await call(test, 'GET', '/v1/me', { token: support.tokens.access_token })).status, 401);
      assert.equal((await call(test, 'POST', '/v1/auth/refresh', { body: { refresh_token: support.tokens.refresh_token } })).status, 401);
    });

    it('built-in roles cannot be replaced, deleted or shadowed (409 built_in_role)', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      for (const name of ['user', 'support', 'auditor', 'admin']) {
        const put = await call(test, 'PUT', `/v1/admin/roles/${name}`, { token: admin.tokens.access_token, body: { permissions: [] } });
        assert.equal(put.status, 409, `PUT ${name}: ${put.body}`);
        assert.equal(put.code, 'built_in_role');
        const del = await call(test, 'DELETE', `/v1/admin/roles/${name}`, { token: admin.tokens.access_token });
        assert.equal(del.status, 409, `DELETE ${name}: ${del.body}`);
        assert.equal(del.code, 'built_in_role');
        const post = await call(test, 'POST', '/v1/admin/roles', { token: admin.tokens.access_token, body: { name, permissions: [] } });
        assert.equal(post.status, 409, `POST ${name}: ${post.body}`);
        assert.equal(post.code, 'built_in_role');
      }
      const adminRole = await call(test, 'GET', '/v1/admin/roles/admin', { token: admin.tokens.access_token });
      // Still every permission of the catalog (10 since incident:respond), none taken away.
      assert.deepEqual([...(adminRole.json()['permissions'] as string[])].sort(), [...PERMISSIONS].sort());
      assert.equal(PERMISSIONS.length, 10);
    });

    it("a token whose roles claim says admin, signed with the real key, gets nothing the database doesn't grant", async () => {
      const plain = await createSignedIn(test, { label: 'forger' });
      const forged = await test.services.auth.tokens.issue({ sub: plain.id, sid: plain.tokens.session_id, roles: [ADMIN_ROLE, 'support', 'auditor'], amr: ['mfa', 'otp', 'pwd'], authTime: new Date() });
      assert.equal((await call(test, 'GET', '/v1/me', { token: forged.token })).status, 200, 'the token itself is valid');
      for (const [method, url] of [['GET', '/v1/admin/users'], ['GET', '/v1/admin/roles'], ['PUT', `/v1/admin/users/${plain.id}/roles/${ADMIN_ROLE}`]] as const) {
        const response = await call(test, method, url, { token: forged.token });
        assert.equal(response.status, 403, `${method} ${url}: ${response.body}`);
        assert.equal(response.code, 'forbidden');
      }
      assert.deepEqual(await rolesOf(plain.id), ['user']);
    });

    it('creating a user with a role is granting it: refused for roles the creator lacks', async () => {
      const creator = await createSignedIn(test, { roles: [await createCustomRole(test, ['users:write', 'users:read'], 'creator')], label: 'creator' });
      const email = uniqueEmail('escalate-create');
      const response = await call(test, 'POST', '/v1/admin/users', { token: creator.tokens.access_token, body: { email, password: strongPassword(), roles: [ADMIN_ROLE] } });
      assert.equal(response.status, 403, response.body);
      assert.equal(response.code, 'forbidden');
      const rows = await test.services.auth.db.selectFrom('users').select('id').where('email_index', '=', test.services.auth.blindIndex.email(email)).execute();
      assert.equal(rows.length, 0);
    });

    it('a signed-in session survives, yet a fresh login cannot re-grant a removed role', async () => {
      const admin = await createSignedIn(test, { roles: [ADMIN_ROLE], label: 'admin' });
      const support = await createSignedIn(test, { roles: ['support'], label: 'support' });
      await call(test, 'DELETE', `/v1/admin/users/${support.id}/roles/support`, { token: admin.tokens.access_token });
      const again = await signIn(test, support);
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token: again.access_token })).status, 403);
    });
  });
}
