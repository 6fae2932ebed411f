// Every account flow end to end over real HTTP, on PGlite and on PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';

interface Tokens {
  access_token: string;
  refresh_token: string;
  session_id: string;
  expires_in: number;
  token_type: string;
}

async function registerVerified(app: EngineApp, email: string, password: string, name?: string): Promise<void> {
  const registered = await app.client.request('POST', '/v1/auth/register', { body: { email, password, ...(name === undefined ? {} : { name }) } });
  assert.equal(registered.status, 202, registered.text);
  await app.settle();
  const token = tokenFromMail(app.mails, email, /Confirm your email/);
  const verified = await app.client.request('POST', '/v1/auth/verify-email', { body: { token } });
  assert.equal(verified.status, 200, verified.text);
}

async function logIn(app: EngineApp, email: string, password: string): Promise<Tokens> {
  const response = await app.client.request<Tokens>('POST', '/v1/auth/login', { body: { email, password } });
  assert.equal(response.status, 200, response.text);
  return response.json();
}

for (const engine of testEngines()) {
  describe(`account flows over HTTP on ${engine.engine}`, () => {
    let app: EngineApp;
    before(async () => {
      // Strict single use: the replay test below presents a spent token at once, which the
      // default reuse interval would answer as a retry (test/security/refresh.security.test.ts).
      app = await startEngineApp(engine, { env: { REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: '0' } });
    });
    after(() => app.close());

    it('register, verify, log in, read and update the profile', async () => {
      const email = uniqueEmail('ada');
      const password = strongPassword();
      const registered = await app.client.request('POST', '/v1/auth/register', { body: { email, password, name: 'Ada' } });
      assert.equal(registered.status, 202);
      assert.deepEqual(registered.json(), { status: 'verification_sent' });
      await app.settle();

      const early = await app.client.request('POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(early.status, 403);
      assert.equal(early.json()['code'], 'email_not_verified');

      const token = tokenFromMail(app.mails, email, /Confirm your email/);
      assert.equal((await app.client.request('POST', '/v1/auth/verify-email', { body: { token } })).status, 200);
      const again = await app.client.request('POST', '/v1/auth/verify-email', { body: { token } });
      assert.equal(again.status, 400, 'a verification link works once');
      assert.equal(again.json()['code'], 'invalid_link');

      const tokens = await logIn(app, email, password);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.expires_in, 1800);
      assert.match(tokens.refresh_token, /^ghr_[A-Za-z0-9_-]{43}$/);

      const me = await app.client.request('GET', '/v1/me', { token: tokens.access_token });
      assert.equal(me.status, 200);
      const profile = me.json();
      assert.equal(profile['email'], email);
      assert.equal(profile['name'], 'Ada');
      assert.equal(profile['email_verified'], true);
      assert.deepEqual(profile['roles'], ['user']);
      assert.equal(me.headers.get('cache-control'), 'no-store');

      const patched = await app.client.request('PATCH', '/v1/me', { token: tokens.access_token, body: { name: 'Ada L.' } });
      assert.equal(patched.status, 200);
      assert.equal(patched.json()['name'], 'Ada L.');
      // The profile GET /v1/me just served is cached: the change must show at once all the same.
      const reread = await app.client.request('GET', '/v1/me', { token: tokens.access_token });
      assert.equal(reread.json()['name'], 'Ada L.');
    });

    it('refresh rotates the pair; a replayed refresh token ends the session and its access token', async () => {
      const email = uniqueEmail('rot');
      const password = strongPassword();
      await registerVerified(app, email, password);
      const first = await logIn(app, email, password);
      const rotated = await app.client.request<Tokens>('POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
      assert.equal(rotated.status, 200);
      const second = rotated.json();
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal((await app.client.request('GET', '/v1/me', { token: second.access_token })).status, 200);

      const replay = await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
      assert.equal(replay.status, 401);
      assert.equal(replay.json()['code'], 'refresh_token_reused');
      assert.equal((await app.client.request('GET', '/v1/me', { token: second.access_token })).status, 401, 'the session is revoked');
      assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: second.refresh_token } })).status, 401);
    });

    it('logout ends the session', async () => {
      const email = uniqueEmail('out');
      const password = strongPassword();
      await registerVerified(app, email, password);
      const tokens = await logIn(app, email, password);
      assert.equal((await app.client.request('POST', '/v1/auth/logout', { token: tokens.access_token })).status, 204);
      assert.equal((await app.client.request('GET', '/v1/me', { token: tokens.access_token })).status, 401);
      assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401);
    });

    it('forgot and reset: single-use link, every old session ends, the new password works', async () => {
      const email = uniqueEmail('reset');
      const password = strongPassword();
      await registerVerified(app, email, password);
      const old = await logIn(app, email, password);
      const forgot = await app.client.request('POST', '/v1/auth/password/forgot', { body: { email } });
      assert.equal(forgot.status, 202);
      await app.settle();
      const token = tokenFromMail(app.mails, email, /Reset your password/);
      const next = strongPassword();
      assert.equal((await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: next } })).status, 204);
      assert.equal((await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: strongPassword() } })).status, 400, 'single use');
      assert.equal((await app.client.request('GET', '/v1/me', { token: old.access_token })).status, 401, 'old sessions are dead');
      assert.equal((await app.client.request('POST', '/v1/auth/login', { body: { email, password } })).status, 401, 'old password refused');
      await logIn(app, email, next);
    });

    it('a weak new password is refused with feedback and does not spend the reset link', async () => {
      const email = uniqueEmail('weak');
      await registerVerified(app, email, strongPassword());
      await app.client.request('POST', '/v1/auth/password/forgot', { body: { email } });
      await app.settle();
      const token = tokenFromMail(app.mails, email, /Reset your password/);
      const weak = await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: 'password1234' } });
      assert.equal(weak.status, 400);
      assert.equal(weak.json()['code'], 'weak_password');
      assert.doesNotMatch(weak.text, /password1234/);
      assert.equal((await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: strongPassword() } })).status, 204);
    });

    it('change password: the current session stays, the others end', async () => {
      const email = uniqueEmail('change');
      const password = strongPassword();
      await registerVerified(app, email, password);
      const current = await logIn(app, email, password);
      const other = await logIn(app, email, password);
      const wrong = await app.client.request('POST', '/v1/me/password', { token: current.access_token, body: { current_password: 'not it at all', new_password: strongPassword() } });
      assert.equal(wrong.status, 401);
      // A weak new password: the policy's reasons point at the field that held it.
      const weak = await app.client.request('POST', '/v1/me/password', { token: current.access_token, body: { current_password: password, new_password: 'password1234' } });
      assert.equal(weak.status, 400, weak.text);
      const fields = (weak.json() as { errors?: { field: string }[] }).errors?.map((error) => error.field) ?? [];
      assert.ok(fields.length > 0 && fields.every((field) => field === '/body/new_password'), JSON.stringify(fields));
      const next = strongPassword();
      const changed = await app.client.request('POST', '/v1/me/password', { token: current.access_token, body: { current_password: password, new_password: next } });
      assert.equal(changed.status, 204, changed.text);
      assert.equal((await app.client.request('GET', '/v1/me', { token: current.access_token })).status, 200);
      assert.equal((await app.client.request('GET', '/v1/me', { token: other.access_token })).status, 401);
      await logIn(app, email, next);
    });

    it('lists sessions, marks the current one, revokes one and then all others', async () => {
      const email = uniqueEmail('sess');
      const password = strongPassword();
      await registerVerified(app, email, password);
      const a = await logIn(app, email, password);
      const b = await logIn(app, email, password);
      const c = await logIn(app, email, password);
      const listed = await app.client.request<{ id: string; current: boolean; ip: string | null }[]>('GET', '/v1/me/sessions', { token: a.access_token });
      assert.equal(listed.status, 200);
      const sessions = listed.json();
      assert.equal(sessions.length, 3);
      assert.deepEqual(sessions.filter((s) => s.current).map((s) => s.id), [a.session_id]);
      assert.equal(sessions[0]?.ip, '127.0.0.1');
      assert.equal((await app.client.request('DELETE', `/v1/me/sessions/${b.session_id}`, { token: a.access_token })).status, 204);
      assert.equal((await app.client.request('GET', '/v1/me', { token: b.access_token })).status, 401);
      assert.equal((await app.client.request('DELETE', '/v1/me/sessions', { token: a.access_token })).status, 204);
      assert.equal((await app.client.request('GET', '/v1/me', { token: c.access_token })).status, 401);
      assert.equal((await app.client.request('GET', '/v1/me', { token: a.access_token })).status, 200);
    });

    it('publishes the signing keys, without private parts', async () => {
      const jwks = await app.client.request<{ keys: Record<string, unknown>[] }>('GET', '/.well-known/jwks.json');
      assert.equal(jwks.status, 200);
      const keys = jwks.json().keys;
      assert.ok(keys.length >= 2, 'active and next');
      for (const key of keys) {
        assert.equal(key['kty'], 'OKP');
        assert.equal(key['crv'], 'Ed25519');
        assert.equal(key['d'], undefined);
      }
    });
  });
}
