// Accounts created through the admin API are invitations: the user, not the admin, sets
// the password, through a mailed one-time link that also verifies the address. Over real
// HTTP on PGlite and PostgreSQL, with a clock that moves only when told (link expiry).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { createUser, type Account } from '../security/authz.fixtures.ts';
import { enrolTotp } from '../helpers/mfa.ts';
import { logIn, manualClock, problemCode, type ManualClock, type Tokens } from '../security/security.fixtures.ts';

interface AdminUser {
  id: string;
  email: string | null;
  email_verified: boolean;
  roles: string[];
}

const INVITATION_HOURS = 72;
const INVITED = /invited/;

for (const engine of testEngines()) {
  describe(`admin invitations over HTTP on ${engine.engine}`, () => {
    let app: EngineApp;
    let time: ManualClock;
    let admin: Account;
    let refreshToken: string;
    let recoveryCodes: string[];
    before(async () => {
      time = manualClock();
      app = await startEngineApp(engine, { clock: time.clock });
      admin = await createUser(app, { roles: ['admin'], label: 'inviter' });
      // MFA_REQUIRED_ROLES (admin by default): the admin enrols a factor in this session,
      // which makes it a second-factor session; it is kept alive by refreshing it.
      const tokens = await logIn(app, admin.email, admin.password);
      recoveryCodes = (await enrolTotp(app, tokens.access_token, time.clock())).recoveryCodes;
      refreshToken = tokens.refresh_token;
    });
    after(() => app.close());

    // A fresh access token per call: the manual clock outruns any one of them.
    async function as<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<JSONResponse<T>> {
      const refreshed = await app.client.request<Tokens>('POST', '/v1/auth/refresh', { body: { refresh_token: refreshToken } });
      assert.equal(refreshed.status, 200, refreshed.text);
      refreshToken = refreshed.json().refresh_token;
      const token = refreshed.json().access_token;
      const send = (): Promise<JSONResponse<T>> => app.client.request<T>(method, path, { token, ...(body === undefined ? {} : { body }) });
      const first = await send();
      if (first.status !== 401 || problemCode(first) !== 'reauthentication_required') return first;
      // Creating a user is a step-up action and the clock has moved on: confirm it is the admin.
      const renewed = await app.client.request('POST', '/v1/auth/reauthenticate', { token, body: { password: admin.password, recovery_code: recoveryCodes.shift() } });
      assert.equal(renewed.status, 200, renewed.text);
      return send();
    }
    const accept = (token: string, password: string): Promise<JSONResponse> =>
      app.client.request('POST', '/v1/auth/password/reset', { body: { token, password } });
    const login = (email: string, password: string): Promise<JSONResponse> =>
      app.client.request('POST', '/v1/auth/login', { body: { email, password } });
    const mailsTo = (email: string): number => app.mails.filter((mail) => mail.to === email).length;
    async function audited(action: string, targetId: string): Promise<number> {
      const rows = await app.database.db
        .selectFrom('audit_events')
        .select('actor_id')
        .where('action', '=', action)
        .where('target_id', '=', targetId)
        .execute();
      for (const row of rows) assert.equal(row.actor_id, admin.id, `${action} names the admin`);
      return rows.length;
    }

    async function invite(label: string, extra: Record<string, unknown> = {}): Promise<{ user: AdminUser; email: string; token: string }> {
      const email = uniqueEmail(label);
      const created = await as<AdminUser>('POST', '/v1/admin/users', { email, ...extra });
      assert.equal(created.status, 201, created.text);
      await app.settle();
      return { user: created.json(), email, token: tokenFromMail(app.mails, email, INVITED) };
    }

    it('a user created without a password is invited: the mailed link sets the password and verifies the email', async () => {
      const { user, email, token } = await invite('invited', { name: 'Grace', roles: ['support'] });
      assert.equal(user.email_verified, false);
      assert.deepEqual(user.roles, ['support', 'user']);
      assert.equal(mailsTo(email), 1);
      const mail = app.mails.find((candidate) => candidate.to === email);
      assert.ok(mail?.text.includes(`${app.config.publicURL}/reset-password#token=`), 'a link from PUBLIC_URL, token in the fragment');
      assert.equal(await audited('user.created', user.id), 1);
      assert.equal(await audited('user.invited', user.id), 1);
      const row = await app.database.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.password_hash, null, 'nobody, the admin included, knows a password for it');
      const guessed = await login(email, strongPassword());
      assert.equal(guessed.status, 401);
      assert.equal(problemCode(guessed), 'invalid_credentials');

      const password = strongPassword();
      const accepted = await accept(token, password);
      assert.equal(accepted.status, 204, accepted.text);
      assert.equal((await as<AdminUser>('GET', `/v1/admin/users/${user.id}`)).json().email_verified, true);
      const tokens = await logIn(app, email, password);
      assert.equal((await app.client.request('GET', '/v1/admin/users', { token: tokens.access_token })).status, 200, 'holds support');
    });

    it('the invitation link works once', async () => {
      const { email, token } = await invite('once');
      const password = strongPassword();
      assert.equal((await accept(token, password)).status, 204);
      const again = await accept(token, strongPassword());
      assert.equal(again.status, 400);
      assert.equal(problemCode(again), 'invalid_link');
      assert.equal((await login(email, password)).status, 200, 'the first password stands');
    });

    it(`the invitation link expires after ${INVITATION_HOURS} hours`, async () => {
      const early = await invite('early');
      const late = await invite('late');
      time.advanceSeconds(INVITATION_HOURS * 3600 - 60);
      assert.equal((await accept(early.token, strongPassword())).status, 204, 'a minute before expiry');
      time.advanceSeconds(60);
      const expired = await accept(late.token, strongPassword());
      assert.equal(expired.status, 400);
      assert.equal(problemCode(expired), 'invalid_link');
      assert.equal((await as<AdminUser>('GET', `/v1/admin/users/${late.user.id}`)).json().email_verified, false);
      // A new link, through the admin's password reset, still works.
      assert.equal((await as('POST', `/v1/admin/users/${late.user.id}/password-reset`)).status, 204);
      await app.settle();
      const fresh = tokenFromMail(app.mails, late.email, /Reset your password/);
      assert.equal((await accept(fresh, strongPassword())).status, 204);
    });

    it('an admin-set password (deprecated) still invites an unverified account; a vouched one gets no mail', async () => {
      const password = strongPassword();
      const unverified = await invite('legacy', { password });
      assert.equal(unverified.user.email_verified, false);
      assert.equal(problemCode(await login(unverified.email, password)), 'email_not_verified');
      const own = strongPassword();
      assert.equal((await accept(unverified.token, own)).status, 204);
      assert.equal((await login(unverified.email, own)).status, 200, 'the invited user replaced the admin-known password');
      assert.equal((await login(unverified.email, password)).status, 401);

      const vouched = uniqueEmail('vouched');
      const created = await as<AdminUser>('POST', '/v1/admin/users', { email: vouched, password, email_verified: true });
      assert.equal(created.status, 201, created.text);
      await app.settle();
      assert.equal(mailsTo(vouched), 0, 'like `gatehouse users create`: the operator vouches');
      assert.equal(await audited('user.invited', created.json().id), 0);
      assert.equal((await login(vouched, password)).status, 200);

      const nobody = uniqueEmail('nobody');
      const refused = await as('POST', '/v1/admin/users', { email: nobody, email_verified: true });
      assert.equal(refused.status, 400, 'a verified address with no password could never be used');
      assert.equal(problemCode(refused), 'invalid_request');
      const taken = await as('POST', '/v1/admin/users', { email: unverified.email });
      assert.equal(taken.status, 409);
      await app.settle();
      assert.equal(mailsTo(nobody), 0);
      assert.equal(mailsTo(unverified.email), 1, 'a refused creation mails nothing');
    });
  });
}
