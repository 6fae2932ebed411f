// The containment commands as the CLI and the admin route run them, on each test engine:
// what each changes, that a second run changes nothing and says so, the audit records of
// every run, and that a role's scope reaches that role's holders only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEngineApp, type EngineApp } from '../../../test/helpers/engine-app.ts';
import { testEngines } from '../../../test/helpers/database.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../../../test/helpers/http.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import type { RequestContext } from '../../core/audit/auditor.ts';
import { createSession } from '../sessions/index.ts';
import { createAccount } from '../users/create-account.ts';
import type { ContainmentActor } from './deps.ts';
import { forcePasswordReset } from './force-reset.ts';
import { SIGN_OUT_BATCH, signOutSessions } from './sign-out.ts';
import { setIncidentSwitch } from './switches.ts';

const context: RequestContext = { ip: null, userAgent: 'gatehouse-cli', requestId: null };
const operator: ContainmentActor = { actor: { type: 'system', id: 'cli' }, context };

interface Account {
  readonly id: string;
  readonly email: string;
  readonly password: string;
}

for (const engine of testEngines()) {
  describe(`incident containment (${engine.engine})`, { timeout: 240_000 }, () => {
    let test: EngineApp;
    before(async () => {
      test = await startEngineApp(engine, { env: { MFA_REQUIRED_ROLES: 'admin' } });
    });
    after(async () => {
      await test.close();
    });

    async function account(roles: string[]): Promise<Account> {
      const email = uniqueEmail(roles[0] ?? 'user');
      const password = strongPassword();
      const created = await createAccount(test.services.auth, { email, name: null, password, roles, emailVerified: true }, { actor: { type: 'system', id: 'test' }, context });
      if (created.kind !== 'created') assert.fail(`account not created: ${created.kind}`);
      return { id: created.id, email, password };
    }

    async function login(who: Pick<Account, 'email' | 'password'>): Promise<{ status: number; body: Record<string, unknown> }> {
      const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: who.email, password: who.password } });
      return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
    }

    async function signedIn(who: Account): Promise<{ access: string; refresh: string }> {
      const reply = await login(who);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { access: String(reply.body['access_token']), refresh: String(reply.body['refresh_token']) };
    }

    async function me(access: string): Promise<number> {
      return (await test.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${access}` } })).statusCode;
    }

    async function liveSessions(userIds: readonly string[]): Promise<number> {
      const row = await test.database.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('count')).where('user_id', 'in', userIds).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
      return Number(row.count);
    }

    async function records(action: string, since: number): Promise<{ target_id: string | null; details: unknown }[]> {
      return test.database.db.selectFrom('audit_events').select(['target_id', 'details']).where('action', '=', action).where('seq', '>', since).orderBy('seq').execute();
    }

    async function headSeq(): Promise<number> {
      const row = await test.database.db.selectFrom('audit_events').select((eb) => eb.fn.max<string | null>('seq').as('seq')).executeTakeFirstOrThrow();
      return Number(row.seq ?? 0);
    }

    it('sign-out --role ends the sessions of that role\'s holders only, audited; a second run ends nothing and says 0', async () => {
      const role = `responder-${Date.now().toString(36)}`;
      const created = await test.app.inject({ method: 'POST', url: '/v1/admin/roles', headers: { authorization: `Bearer ${await adminToken()}` }, payload: { name: role, permissions: [] } });
      assert.equal(created.statusCode, 201, created.body);
      const holders = [await account([role]), await account([role, 'user'])];
      const others = [await account([]), await account(['support'])];
      const holderTokens = await Promise.all(holders.map(signedIn));
      const otherTokens = await Promise.all(others.map(signedIn));
      const since = await headSeq();

      const first = await signOutSessions(test.services.auth, operator, { kind: 'role', role });
      assert.equal(first.revoked, 2);
      assert.equal(await liveSessions(holders.map((holder) => holder.id)), 0);
      assert.equal(await liveSessions(others.map((other) => other.id)), 2, 'no other user\'s session ended');
      for (const token of holderTokens) assert.equal(await me(token.access), 401);
      for (const token of otherTokens) assert.equal(await me(token.access), 200);
      const refreshed = await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: holderTokens[0]!.refresh } });
      assert.equal(refreshed.statusCode, 401, 'a revoked session does not refresh');

      const revokedRecords = await records('session.revoked', since);
      assert.equal(revokedRecords.length, 2, 'one session.revoked per session, as the per-user sign-out writes');
      for (const record of revokedRecords) assert.equal((record.details as { reason: string }).reason, 'incident_sign_out');
      const summary = await records('incident.sign_out', since);
      assert.deepEqual(summary.map((record) => record.details), [{ scope: 'role', role, sessions_revoked: 2, kept_session: null }]);

      const again = await signOutSessions(test.services.auth, operator, { kind: 'role', role });
      assert.equal(again.revoked, 0);
      assert.equal((await records('session.revoked', since)).length, 2, 'the repeat revoked nothing');
      const summaries = await records('incident.sign_out', since);
      assert.equal(summaries.length, 2);
      assert.equal((summaries[1]!.details as { sessions_revoked: number }).sessions_revoked, 0, 'the repeat\'s record says 0');
    });

    it(`sign-out --all ends more sessions than one batch (${SIGN_OUT_BATCH}) in batches, with one summary record`, async () => {
      const users = [await account([]), await account([]), await account([])];
      const now = test.services.auth.clock();
      const perUser = Math.ceil((SIGN_OUT_BATCH * 2 + 7) / users.length);
      for (const user of users) {
        for (let i = 0; i < perUser; i++) {
          await createSession(test.database.db, test.services.auth.lifetimes, { userId: user.id, ip: null, userAgent: null, authMethod: 'password', amr: ['pwd'], now }, test.keyring);
        }
      }
      const since = await headSeq();
      const live = Number((await test.database.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('count')).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirstOrThrow()).count);
      assert.ok(live > SIGN_OUT_BATCH * 2, `${live} live sessions`);
      const result = await signOutSessions(test.services.auth, operator, { kind: 'all' });
      assert.equal(result.revoked, live);
      assert.equal(await liveSessions(users.map((user) => user.id)), 0);
      assert.equal((await records('session.revoked', since)).length, live);
      const summary = await records('incident.sign_out', since);
      assert.deepEqual(summary.map((record) => record.details), [{ scope: 'all', sessions_revoked: live, kept_session: null }]);
      assert.equal((await signOutSessions(test.services.auth, operator, { kind: 'all' })).revoked, 0);
    });

    it('a scope naming no role or no user is an error, not "0 affected"', async () => {
      await assert.rejects(signOutSessions(test.services.auth, operator, { kind: 'role', role: 'no-such-role' }), { code: 'not_found' });
      await assert.rejects(forcePasswordReset(test.services.auth, operator, { kind: 'user', userId: '00000000-0000-7000-8000-000000000000' }, { notify: false }), { code: 'not_found' });
    });

    it('force-password-reset --role marks that role\'s holders, ends their sessions, mails with --notify; a second run marks and mails nobody', async () => {
      const role = `suspect-${Date.now().toString(36)}`;
      const created = await test.app.inject({ method: 'POST', url: '/v1/admin/roles', headers: { authorization: `Bearer ${await adminToken()}` }, payload: { name: role, permissions: [] } });
      assert.equal(created.statusCode, 201, created.body);
      const holder = await account([role]);
      const bystander = await account([]);
      const holderSession = await signedIn(holder);
      const bystanderSession = await signedIn(bystander);
      const since = await headSeq();

      const first = await forcePasswordReset(test.services.auth, operator, { kind: 'role', role }, { notify: true });
      assert.deepEqual(first, { marked: 1, sessionsRevoked: 1, notified: 1 });
      assert.equal(await me(holderSession.access), 401);
      assert.equal(await me(bystanderSession.access), 200, 'outside the role nothing changed');
      const refreshed = await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: holderSession.refresh } });
      assert.equal(refreshed.statusCode, 401);

      const correct = await login(holder);
      assert.equal(correct.status, 403);
      assert.equal(correct.body['code'], 'password_reset_required');
      const wrong = await login({ email: holder.email, password: `${holder.password}x` });
      const usual = await login({ email: bystander.email, password: `${bystander.password}x` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body['code'], 'invalid_credentials', 'a wrong password answers as for anyone');
      assert.deepEqual(Object.keys(wrong.body).sort(), Object.keys(usual.body).sort());
      assert.equal((await login(bystander)).status, 200);

      await test.settle();
      const token = tokenFromMail(test.mails, holder.email, /Reset your password/);
      assert.equal(test.mails.filter((mail) => mail.to === bystander.email).length, 0);
      const perUser = await records('password.reset_required', since);
      assert.deepEqual(perUser.map((record) => [record.target_id, record.details]), [[holder.id, { sessions_revoked: 1, notified: true }]]);
      const summary = await records('incident.password_reset_forced', since);
      assert.deepEqual(summary.map((record) => record.details), [{ scope: 'role', role, users_marked: 1, sessions_revoked: 1, notify: true, notified: 1 }]);

      const mailsBefore = test.mails.length;
      const again = await forcePasswordReset(test.services.auth, operator, { kind: 'role', role }, { notify: true });
      assert.deepEqual(again, { marked: 0, sessionsRevoked: 0, notified: 0 });
      await test.settle();
      assert.equal(test.mails.length, mailsBefore, 'the repeat mails nobody');
      assert.equal((await records('password.reset_required', since)).length, 1);
      const summaries = await records('incident.password_reset_forced', since);
      assert.equal((summaries[1]!.details as { users_marked: number }).users_marked, 0);

      const newPassword = strongPassword();
      const reset = await test.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: newPassword } });
      assert.equal(reset.statusCode, 204, reset.body);
      assert.equal((await login({ email: holder.email, password: newPassword })).status, 200, 'the reset lifted the requirement');
    });

    it('freeze-registration and maintenance: each run audited, a repeat says it changed nothing', async () => {
      const since = await headSeq();
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'registration', true), { changed: true });
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'registration', true), { changed: false });
      const frozen = await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail('new'), password: strongPassword() } });
      assert.equal(frozen.statusCode, 503);
      assert.equal(frozen.json<{ code: string }>().code, 'registration_frozen');
      assert.ok(frozen.headers['retry-after'] !== undefined);
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'registration', false), { changed: true });
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'registration', false), { changed: false });
      const open = await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: uniqueEmail('new'), password: strongPassword() } });
      assert.equal(open.statusCode, 202, open.body);
      assert.deepEqual((await records('incident.registration_frozen', since)).map((record) => record.details), [{ changed: true }, { changed: false }]);
      assert.deepEqual((await records('incident.registration_unfrozen', since)).map((record) => record.details), [{ changed: true }, { changed: false }]);

      const user = await account([]);
      const kept = await signedIn(user);
      const plainAdmin = await account(['admin']);
      const factorAdmin = await account(['admin']);
      const { recoveryCodes } = await enrolTotp(test, (await signedIn(factorAdmin)).access);
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'maintenance', true), { changed: true });
      assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'maintenance', true), { changed: false });
      try {
        const refused = await login(user);
        assert.equal(refused.status, 503);
        assert.equal(refused.body['code'], 'maintenance_mode');
        assert.equal((await login({ email: user.email, password: `${user.password}x` })).body['code'], 'invalid_credentials');
        assert.equal(await me(kept.access), 200, 'existing sessions keep working');
        const refreshed = await test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: kept.refresh } });
        assert.equal(refreshed.statusCode, 200, 'and keep refreshing');
        assert.equal((await login(plainAdmin)).body['code'], 'maintenance_mode', 'an admin without a second factor is refused');
        const first = await login(factorAdmin);
        assert.equal(first.body['mfa_required'], true, JSON.stringify(first.body));
        const second = await test.app.inject({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: first.body['mfa_token'], recovery_code: recoveryCodes[0] } });
        assert.equal(second.statusCode, 200, `an admin who proves a second factor signs in: ${second.body}`);
      } finally {
        assert.deepEqual(await setIncidentSwitch(test.services.auth, operator, 'maintenance', false), { changed: true });
      }
      assert.equal((await login(user)).status, 200);
      assert.deepEqual((await records('incident.maintenance_started', since)).map((record) => record.details), [{ changed: true }, { changed: false }]);
    });

    it('POST /v1/admin/incident/sign-out ends everyone\'s sessions but the caller\'s own; it needs a second-factor session', async () => {
      const admin = await account(['admin']);
      const first = await signedIn(admin);
      await enrolTotp(test, first.access);
      const victim = await account([]);
      const victimSession = await signedIn(victim);
      const answer = await test.app.inject({ method: 'POST', url: '/v1/admin/incident/sign-out', headers: { authorization: `Bearer ${first.access}` }, payload: { scope: 'all' } });
      assert.equal(answer.statusCode, 200, answer.body);
      const body = answer.json<{ revoked: number; kept_session: string }>();
      assert.ok(body.revoked >= 1);
      assert.equal(await me(victimSession.access), 401);
      assert.equal(await me(first.access), 200, 'the responder\'s own session is kept');
      const repeat = await test.app.inject({ method: 'POST', url: '/v1/admin/incident/sign-out', headers: { authorization: `Bearer ${first.access}` }, payload: { scope: 'all' } });
      assert.deepEqual(repeat.json(), { revoked: 0, kept_session: body.kept_session });

      // A role holding the permission but signed in with a password alone is refused.
      const role = `ir-${Date.now().toString(36)}`;
      const created = await test.app.inject({ method: 'POST', url: '/v1/admin/roles', headers: { authorization: `Bearer ${first.access}` }, payload: { name: role, permissions: ['incident:respond'] } });
      assert.equal(created.statusCode, 201, created.body);
      const responder = await account([role]);
      const responderSession = await signedIn(responder);
      const refused = await test.app.inject({ method: 'POST', url: '/v1/admin/incident/sign-out', headers: { authorization: `Bearer ${responderSession.access}` }, payload: { scope: 'all' } });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json<{ code: string }>().code, 'mfa_required');
      for (const payload of [{}, { scope: 'all', role: 'admin' }, { scope: 'role' }, { scope: 'user', user_id: 'x' }, { scope: 'everyone' }]) {
        const bad = await test.app.inject({ method: 'POST', url: '/v1/admin/incident/sign-out', headers: { authorization: `Bearer ${first.access}` }, payload });
        assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      }
    });

    /** A fresh admin with a second factor, signed in with it (an earlier test's sign-out --all ended the others). */
    async function adminToken(): Promise<string> {
      const session = await signedIn(await account(['admin']));
      await enrolTotp(test, session.access);
      return session.access;
    }
  });
}
