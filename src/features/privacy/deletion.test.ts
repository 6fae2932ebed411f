// Deleting one's own account: DELETE /v1/me schedules the erasure after the grace period,
// signs out every session and mails a cancel link; the link, or logging in and keeping
// the account, cancels it; when due, the job erases the account (rows gone, data key
// shredded, a last mail) with the audit chain intact; a grace period of 0 erases at once;
// the last administrator cannot delete themselves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import { tokenFromMail } from '../../../test/helpers/http.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { call, createSignedIn, createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { mfaAppPerSuite } from '../mfa/mfa.fixtures.ts';

const DAY = 86_400;

for (const engine of testEngines()) {
  describe(`account deletion by its owner on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine);

    it('is scheduled after 7 days, signs out every session, mails a link that cancels it once', async () => {
      const { test } = suite;
      const account = await createUser(test, { label: 'delete-link' });
      const first = await signIn(test, account);
      const second = await signIn(test, account);
      const answer = await call(test, 'DELETE', '/v1/me', { token: first.access_token });
      assert.equal(answer.status, 202, answer.body);
      const body = answer.json<{ scheduled: boolean; due_at: string }>();
      assert.equal(body.scheduled, true);
      assert.equal(new Date(body.due_at).getTime(), suite.time.clock().getTime() + 7 * DAY * 1000);
      for (const tokens of [first, second]) {
        assert.equal((await call(test, 'GET', '/v1/me', { token: tokens.access_token })).status, 401, 'every session is signed out');
        assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } })).statusCode, 401);
      }
      await test.settle();
      const token = tokenFromMail(test.mails, account.email, /will be deleted/);
      const cancel = await test.app.inject({ method: 'POST', url: '/v1/auth/deletion/cancel', payload: { token } });
      assert.equal(cancel.statusCode, 204, cancel.body);
      const again = await test.app.inject({ method: 'POST', url: '/v1/auth/deletion/cancel', payload: { token } });
      assert.equal(again.json<{ code: string }>().code, 'invalid_link');
      const after = await signIn(test, account);
      assert.deepEqual((await call(test, 'GET', '/v1/me/deletion', { token: after.access_token })).json(), { scheduled: false });
      const actions = await test.services.auth.db.selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', account.id).where('action', 'like', 'user.deletion%').orderBy('seq').execute();
      assert.deepEqual(actions.map((row) => row.action), ['user.deletion_requested', 'user.deletion_cancelled']);
      assert.deepEqual(actions[1]?.details, { via: 'link' });
    });

    it('logging in during the grace period and keeping the account cancels it; asking twice keeps the first date', async () => {
      const { test } = suite;
      const account = await createUser(test, { label: 'delete-keep' });
      const asked = await call(test, 'DELETE', '/v1/me', { token: (await signIn(test, account)).access_token });
      const dueAt = asked.json<{ due_at: string }>().due_at;
      suite.time.advanceSeconds(DAY);
      const back = await signIn(test, account);
      assert.deepEqual((await call(test, 'GET', '/v1/me/deletion', { token: back.access_token })).json<{ due_at: string }>().due_at, dueAt);
      const twice = await call(test, 'DELETE', '/v1/me', { token: back.access_token });
      assert.equal(twice.json<{ due_at: string }>().due_at, dueAt, 'the first date stands');
      const kept = await signIn(test, account);
      assert.deepEqual((await call(test, 'DELETE', '/v1/me/deletion', { token: kept.access_token })).json(), { scheduled: false });
      suite.time.advanceSeconds(8 * DAY);
      await test.services.scheduler.runNow('erase-requested-accounts');
      const still = await test.services.auth.db.selectFrom('users').select('id').where('id', '=', account.id).execute();
      assert.equal(still.length, 1, 'the account is still there');
      assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password } })).statusCode, 200);
    });

    it('when due, the job erases the account: rows and data key gone, a last mail, the audit chain intact', async () => {
      const { test } = suite;
      const db = test.services.auth.db;
      const account = await createUser(test, { label: 'delete-due', name: 'Soon Gone' });
      const tokens = await signIn(test, account);
      await enrolTotp(test, tokens.access_token, suite.time.clock());
      await call(test, 'DELETE', '/v1/me', { token: tokens.access_token });
      suite.time.advanceSeconds(7 * DAY - 60);
      await test.services.scheduler.runNow('erase-requested-accounts');
      assert.equal((await db.selectFrom('users').select('id').where('id', '=', account.id).execute()).length, 1, 'not due yet');
      suite.time.advanceSeconds(120);
      await test.services.scheduler.runNow('erase-requested-accounts');
      for (const table of ['users', 'sessions', 'mfa_totp', 'mfa_recovery_codes', 'one_time_tokens', 'account_deletions'] as const) {
        const column = table === 'users' ? 'id' : 'user_id';
        const left = await db.selectFrom(table).select(column).where(column, '=', account.id).execute();
        assert.equal(left.length, 0, `${table} still holds the account`);
      }
      assert.equal((await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', account.id).execute()).length, 0, 'the data key is shredded');
      const record = await db.selectFrom('audit_events').select(['actor_type', 'actor_id', 'details']).where('target_id', '=', account.id).where('action', '=', 'user.deleted').executeTakeFirstOrThrow();
      assert.deepEqual(record, { actor_type: 'system', actor_id: 'deletion', details: { reason: 'requested', sessions_revoked: 0 } });
      await test.settle();
      assert.ok(test.mails.some((mail) => mail.to === account.email && /was deleted/.test(mail.subject)), 'a last mail to the address');
      // No address or user agent of what the person did remains (their logins, the second
      // factor set up, the deletion request), and the logins had one.
      const theirs = await db.selectFrom('audit_events').select(['action', 'ip', 'user_agent']).where('actor_id', '=', account.id).where('outcome', '=', 'success').execute();
      assert.ok(theirs.some((row) => row.action === 'user.deletion_requested') && theirs.some((row) => row.action === 'auth.login_succeeded'));
      assert.deepEqual(theirs.filter((row) => row.ip !== null || row.user_agent !== null), []);
      const verification = await verifyAuditChain(db, test.services.auditKeys);
      assert.equal(verification.ok, true, JSON.stringify(verification));
      // The account cannot log in any more.
      const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: account.email, password: account.password } });
      assert.equal(login.json<{ code: string }>().code, 'invalid_credentials');
    });
  });

  describe(`what an erasure leaves, read as the database superuser, on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine);

    it('no table holds the erased person\'s email, name, address, user agent or second-factor secret, in clear or decryptable', async () => {
      const { test } = suite;
      const db = test.services.auth.db;
      const account = await createUser(test, { label: 'erased-everywhere', name: 'Erased Everywhere Person' });
      const from = { remoteAddress: '198.51.100.23', headers: { 'user-agent': 'ErasedBrowser/7.1' } };
      const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', ...from, payload: { email: account.email, password: account.password } });
      assert.equal(login.statusCode, 200, login.body);
      const token = login.json<{ access_token: string }>().access_token;
      const totp = await enrolTotp(test, token, suite.time.clock());
      const asked = await test.app.inject({ method: 'DELETE', url: '/v1/me', ...from, headers: { ...from.headers, authorization: `Bearer ${token}` } });
      assert.equal(asked.statusCode, 202, asked.body);
      // Before the erasure the traces are there: the search below can find them.
      const tables = (await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db)).rows.map((row) => row.table_name);
      const everything = async (): Promise<string> => {
        const dumps: string[] = [];
        for (const table of tables) dumps.push(JSON.stringify((await sql`SELECT * FROM ${sql.table(table)}`.execute(db)).rows));
        return dumps.join('\n');
      };
      // The email and name are never stored in clear; the address and user agent are, until the erasure.
      const encrypted = [account.email, 'Erased Everywhere Person'];
      const inClear = ['198.51.100.23', 'ErasedBrowser/7.1'];
      const before = await everything();
      for (const trace of encrypted) assert.equal(before.includes(trace), false, `${trace} is stored in clear`);
      for (const trace of [...inClear, account.id]) assert.ok(before.includes(trace), `${trace} is stored before the erasure (the search can find it)`);
      suite.time.advanceSeconds(7 * DAY + 60);
      await test.services.scheduler.runNow('erase-requested-accounts');
      const after = await everything();
      // The email and name were stored only encrypted under the shredded key; the address
      // and user agent in sessions (deleted) and audit records (redacted); the TOTP secret
      // encrypted (row deleted). The pseudonymous id stays in the audit trail only.
      for (const trace of [...encrypted, ...inClear]) assert.equal(after.includes(trace), false, `${trace} survives the erasure`);
      assert.equal(after.includes(totp.secret.base32), false);
      assert.equal((await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', account.id).execute()).length, 0);
      const idsLeft = (await db.selectFrom('audit_events').select('seq').where((eb) => eb.or([eb('actor_id', '=', account.id), eb('target_id', '=', account.id)])).execute()).length;
      assert.ok(idsLeft > 0, 'the audit trail keeps the pseudonymous id');
    });
  });

  describe(`account deletion at once (ACCOUNT_DELETION_GRACE_DAYS=0) on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { ACCOUNT_DELETION_GRACE_DAYS: '0' });

    it('the last administrator cannot delete themselves; anyone else is erased at once', async () => {
      const { test } = suite;
      const admin = await createSignedIn(test, { roles: ['admin'], label: 'delete-last-admin' });
      const refused = await call(test, 'DELETE', '/v1/me', { token: admin.tokens.access_token });
      assert.equal(refused.status, 409, refused.body);
      assert.equal(refused.code, 'last_admin');
      const account = await createUser(test, { label: 'delete-now' });
      const tokens = await signIn(test, account);
      const erased = await call(test, 'DELETE', '/v1/me', { token: tokens.access_token });
      assert.equal(erased.status, 204, erased.body);
      const db = test.services.auth.db;
      assert.equal((await db.selectFrom('users').select('id').where('id', '=', account.id).execute()).length, 0);
      assert.equal((await db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', account.id).execute()).length, 0);
      assert.equal((await call(test, 'GET', '/v1/me', { token: tokens.access_token })).status, 401);
    });
  });
}
