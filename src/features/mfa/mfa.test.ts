// The MFA flow end to end through the routes: enrol an authenticator app (secret, URI and
// QR code once), confirm it, list what is enrolled, log in with it, make new recovery
// codes, remove it; and what each step leaves in sessions, tokens, events and mail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { call, createUser } from '../../../test/security/authz.fixtures.ts';
import { bearer, codeNow, enrolledAccount, mfaAppPerSuite, mfaToken, passwordStep, secondStep } from './mfa.fixtures.ts';
import { totpCodeAt, totpStep } from './totp.ts';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

for (const engine of testEngines()) {
  describe(`MFA flow on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine);

    it('enrols an authenticator app: the secret, its otpauth URI and an SVG QR code once; a factor only after a valid code', async () => {
      const user = await createUser(suite.test, { label: 'enrol' });
      const token = (await passwordStep(suite.test, user)).body.access_token!;
      const start = await call(suite.test, 'POST', '/v1/me/mfa/totp', { token });
      assert.equal(start.status, 200, start.body);
      const { secret, otpauth_uri: uri, qr_svg: svg } = start.json<{ secret: string; otpauth_uri: string; qr_svg: string }>();
      assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits in base32');
      const parsed = new URL(uri);
      assert.equal(parsed.protocol, 'otpauth:');
      assert.deepEqual([parsed.searchParams.get('secret'), parsed.searchParams.get('digits'), parsed.searchParams.get('period'), parsed.searchParams.get('algorithm')], [secret, '6', '30', 'SHA1']);
      assert.ok(decodeURIComponent(parsed.pathname).includes(user.email));
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.doesNotMatch(svg, /<script|href|on[a-z]+=/i, 'paths only: nothing that runs or loads');

      const pending = await call(suite.test, 'GET', '/v1/me/mfa', { token });
      assert.deepEqual(pending.json(), { required: false, methods: [], totp: null, passkeys: 0, recovery_codes_remaining: 0 }, 'an unconfirmed enrolment is no factor');
      assert.equal((await passwordStep(suite.test, user)).body.mfa_required, undefined, 'login is unchanged until confirmed');

      const wrong = await call(suite.test, 'POST', '/v1/me/mfa/totp/confirm', { token, body: { code: totpCodeAt({ base32: secret }, totpStep(suite.time.clock()) + 5) } });
      assert.deepEqual([wrong.status, wrong.code], [401, 'invalid_mfa_code']);
      const confirmed = await call(suite.test, 'POST', '/v1/me/mfa/totp/confirm', { token, body: { code: codeNow({ base32: secret }, suite.time) } });
      assert.equal(confirmed.status, 200, confirmed.body);
      const codes = confirmed.json<{ recovery_codes: string[] }>().recovery_codes;
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);

      const status = await call(suite.test, 'GET', '/v1/me/mfa', { token });
      assert.deepEqual(status.json()['methods'], ['totp', 'recovery_code']);
      assert.equal(status.json()['recovery_codes_remaining'], 10);
      assert.ok(!status.body.includes(secret) && !codes.some((code) => status.body.includes(code)), 'never a secret');
      const again = await call(suite.test, 'POST', '/v1/me/mfa/totp', { token });
      assert.deepEqual([again.status, again.code], [409, 'conflict'], 'one authenticator app per account: remove it first');

      await suite.test.settle();
      assert.ok(suite.test.mails.some((mail) => mail.to === user.email && /sign-in security/.test(mail.subject)), 'the owner is told');
      const events = (await call(suite.test, 'GET', '/v1/me/events', { token })).json<{ events: { action: string }[] }>().events.map((event) => event.action);
      for (const action of ['mfa.totp_enrolment_started', 'mfa.totp_enabled', 'session.upgraded']) assert.ok(events.includes(action), action);
    });

    it('logs in with the second factor: the session, the token and a refreshed token say how', async () => {
      const account = await enrolledAccount(suite);
      const done = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time) });
      assert.equal(done.status, 200);
      const sessions = await call(suite.test, 'GET', '/v1/me/sessions', { token: done.body.access_token! });
      const current = sessions.json<{ current: boolean; auth_method: string; amr: string[]; auth_time: string }[]>().find((session) => session.current);
      assert.deepEqual([current?.auth_method, current?.amr, current?.auth_time], ['password+totp', ['mfa', 'otp', 'pwd'], suite.time.clock().toISOString()]);
      suite.time.advanceSeconds(60);
      const refreshed = await suite.test.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: done.body.refresh_token } });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const claims = claimsOf(refreshed.json<{ access_token: string }>().access_token);
      assert.deepEqual(claims['amr'], ['mfa', 'otp', 'pwd']);
      assert.equal(claims['auth_time'], Math.floor(suite.time.clock().getTime() / 1000) - 60, 'auth_time is the login, not the refresh');
      const events = (await call(suite.test, 'GET', '/v1/me/events', { token: done.body.access_token! })).json<{ events: { action: string }[] }>().events.map((event) => event.action);
      assert.ok(events.includes('auth.mfa_challenged') && events.includes('auth.login_succeeded'));
    });

    it('a password reset forced after the password step refuses the second step: that password is no longer trusted', async () => {
      const account = await enrolledAccount(suite);
      const token = await mfaToken(suite.test, account);
      // As if the reset committed while this login was between its two steps (the reset
      // also deletes pending second steps, which a login reading the account earlier races).
      await suite.test.database.db.updateTable('users').set({ password_reset_required_at: suite.time.clock() }).where('id', '=', account.id).execute();
      const done = await secondStep(suite.test, { mfa_token: token, code: codeNow(account.secret, suite.time) });
      assert.equal(done.status, 403);
      assert.equal(done.body.code, 'password_reset_required');
      assert.equal(done.body.access_token, undefined);
    });

    it('new recovery codes replace the old set: an old code no longer signs in, a new one does', async () => {
      const account = await enrolledAccount(suite);
      const regenerated = await call(suite.test, 'POST', '/v1/me/mfa/recovery-codes', { token: account.tokens.access_token });
      assert.equal(regenerated.status, 200, regenerated.body);
      const fresh = regenerated.json<{ recovery_codes: string[] }>().recovery_codes;
      assert.equal(fresh.length, 10);
      const old = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), recovery_code: account.recoveryCodes[0] });
      assert.deepEqual([old.status, old.body.code], [401, 'invalid_mfa_code']);
      const used = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), recovery_code: fresh[0] });
      assert.equal(used.status, 200);
    });

    it('removing the authenticator app removes its recovery codes; login is a password again; the owner is told', async () => {
      const account = await enrolledAccount(suite);
      const removed = await suite.test.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: bearer(account.tokens.access_token) });
      assert.equal(removed.statusCode, 204, removed.body);
      const status = await call(suite.test, 'GET', '/v1/me/mfa', { token: account.tokens.access_token });
      assert.deepEqual([status.json()['methods'], status.json()['recovery_codes_remaining']], [[], 0]);
      const login = await passwordStep(suite.test, account);
      assert.equal(login.status, 200);
      assert.ok(login.body.access_token !== undefined && login.body.mfa_required === undefined);
      const twice = await suite.test.app.inject({ method: 'DELETE', url: '/v1/me/mfa/totp', headers: bearer(account.tokens.access_token) });
      assert.equal(twice.statusCode, 404);
      await suite.test.settle();
      assert.ok(suite.test.mails.some((mail) => mail.to === account.email && /removed/.test(mail.text)));
    });

    it('recovery codes need a factor to back up', async () => {
      const user = await createUser(suite.test, { label: 'no-factor' });
      const token = (await passwordStep(suite.test, user)).body.access_token!;
      const refused = await call(suite.test, 'POST', '/v1/me/mfa/recovery-codes', { token });
      assert.deepEqual([refused.status, refused.code], [409, 'conflict']);
    });
  });
}
