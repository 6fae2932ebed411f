import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { strongPassword, uniqueEmail } from '../../../test/helpers/http.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { appPerSuite, call, createUser } from '../../../test/security/authz.fixtures.ts';
import type { TestApp } from '../../../test/helpers/app.ts';
import { ADMIN_ROLE } from '../authorization/permissions.ts';
import { listRoles } from '../users/repo.ts';
import { bootstrapAdmin } from './bootstrap.ts';

for (const engine of testEngines()) {
  describe(`bootstrap admin on ${engine.engine}`, () => {
    const suite = appPerSuite(engine);
    let test: TestApp;
    let dir: string;
    before(async () => {
      test = suite.test;
      dir = await mkdtemp(join(tmpdir(), 'gh-bootstrap-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    let files = 0;
    async function passwordFile(content: string | Buffer): Promise<string> {
      files += 1;
      const path = join(dir, `password-${files}`);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    }

    async function noActiveAdmin(): Promise<void> {
      const admins = test.services.auth.db.selectFrom('user_roles').select('user_id').where('role', '=', ADMIN_ROLE);
      await test.services.auth.db.updateTable('users').set({ status: 'disabled' }).where('id', 'in', admins).execute();
    }

    async function usersWithEmail(email: string): Promise<{ id: string }[]> {
      return test.services.auth.db.selectFrom('users').select('id').where('email_index', '=', test.services.auth.blindIndex.email(email)).execute();
    }

    it('creates the admin from the password file when no admin exists: they can log in and hold admin', async () => {
      const email = uniqueEmail('root');
      const password = strongPassword();
      // The editor's trailing newline is not part of the password.
      const outcome = await bootstrapAdmin(test.services.auth, { email, passwordFile: await passwordFile(`${password}\n`) });
      assert.equal(outcome, 'created');
      const login = await call(test, 'POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(login.status, 200, login.body);
      const token = login.json<{ access_token: string }>().access_token;
      // MFA_REQUIRED_ROLES (admin by default): the new admin enrols a factor before administering.
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token })).code, 'mfa_enrollment_required');
      await enrolTotp(test, token);
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token })).status, 200);
      const [user] = await usersWithEmail(email);
      assert.deepEqual(await listRoles(test.services.auth.db, user!.id), [ADMIN_ROLE, 'user']);
      const audit = await test.services.auth.db.selectFrom('audit_events').select(['actor_type', 'actor_id']).where('action', '=', 'user.created').where('target_id', '=', user!.id).execute();
      assert.deepEqual(audit, [{ actor_type: 'system', actor_id: 'bootstrap' }]);
    });

    it('is a no-op once an admin exists, without reading the password file', async () => {
      const email = uniqueEmail('second-root');
      const outcome = await bootstrapAdmin(test.services.auth, { email, passwordFile: join(dir, 'never-written') });
      assert.equal(outcome, 'admin_exists');
      assert.deepEqual(await usersWithEmail(email), []);
    });

    it('never promotes an existing account with that email (email_taken)', async () => {
      await noActiveAdmin();
      const squatter = await createUser(test, { label: 'squatter' });
      const outcome = await bootstrapAdmin(test.services.auth, { email: squatter.email, passwordFile: await passwordFile(strongPassword()) });
      assert.equal(outcome, 'email_taken');
      assert.deepEqual(await listRoles(test.services.auth.db, squatter.id), ['user']);
      const login = await call(test, 'POST', '/v1/auth/login', { body: { email: squatter.email, password: squatter.password } });
      assert.equal(login.status, 200, 'their own password still works');
      const token = login.json<{ access_token: string }>().access_token;
      assert.equal((await call(test, 'GET', '/v1/admin/users', { token })).status, 403);
    });

    it('throws on a password the policy refuses, and creates nobody', async () => {
      await noActiveAdmin();
      const email = uniqueEmail('weak-root');
      await assert.rejects(bootstrapAdmin(test.services.auth, { email, passwordFile: await passwordFile('password1234\n') }), /password policy/);
      await assert.rejects(bootstrapAdmin(test.services.auth, { email, passwordFile: await passwordFile('') }), /password policy/);
      assert.deepEqual(await usersWithEmail(email), []);
    });

    it('throws on a missing, unreadable or oversized password file, and creates nobody', async () => {
      await noActiveAdmin();
      const email = uniqueEmail('nofile-root');
      await assert.rejects(bootstrapAdmin(test.services.auth, { email, passwordFile: join(dir, 'missing') }), { code: 'ENOENT' });
      await assert.rejects(bootstrapAdmin(test.services.auth, { email, passwordFile: dir }), { code: 'EISDIR' });
      await assert.rejects(bootstrapAdmin(test.services.auth, { email, passwordFile: await passwordFile(Buffer.alloc(5000, 'a')) }), /too large/);
      assert.deepEqual(await usersWithEmail(email), []);
    });
  });
}
