// Attacks found in review: address squatting, a disabled account that keeps working,
// and the password-change endpoint as an unlimited password oracle.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';

interface Tokens { access_token: string; refresh_token: string }

for (const engine of testEngines()) {
  describe(`account takeover defences on ${engine.engine}`, () => {
    let app: EngineApp;
    before(async () => {
      app = await startEngineApp(engine, { env: { LOCKOUT_THRESHOLD: '3' } });
    });
    after(() => app.close());

    async function verifiedLogin(email: string, password: string): Promise<Tokens> {
      await app.client.request('POST', '/v1/auth/register', { body: { email, password } });
      await app.settle();
      await app.client.request('POST', '/v1/auth/verify-email', { body: { token: tokenFromMail(app.mails, email, /Confirm/) } });
      const login = await app.client.request<Tokens>('POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(login.status, 200, login.text);
      return login.json();
    }

    it('an address registered by a squatter is recovered by its owner through password reset', async () => {
      const victim = uniqueEmail('victim');
      await app.client.request('POST', '/v1/auth/register', { body: { email: victim, password: strongPassword() } });
      await app.settle();
      // The owner never clicks the squatter's verification link; they reset instead.
      await app.client.request('POST', '/v1/auth/password/forgot', { body: { email: victim } });
      await app.settle();
      const mine = strongPassword();
      const reset = await app.client.request('POST', '/v1/auth/password/reset', { body: { token: tokenFromMail(app.mails, victim, /Reset/), password: mine } });
      assert.equal(reset.status, 204);
      const login = await app.client.request('POST', '/v1/auth/login', { body: { email: victim, password: mine } });
      assert.equal(login.status, 200, 'the reset proved the mailbox, so the address is verified');
    });

    it('an unverified owner can ask for a new verification link; the answer is the same for any address', async () => {
      const email = uniqueEmail('resend');
      await app.client.request('POST', '/v1/auth/register', { body: { email, password: strongPassword() } });
      await app.settle();
      const before = app.mails.filter((mail) => mail.to === email).length;
      const known = await app.client.request('POST', '/v1/auth/verify-email/resend', { body: { email } });
      const unknown = await app.client.request('POST', '/v1/auth/verify-email/resend', { body: { email: uniqueEmail('nobody') } });
      assert.equal(known.status, 202);
      assert.equal(known.text, unknown.text);
      await app.settle();
      assert.equal(app.mails.filter((mail) => mail.to === email).length, before + 1);
      const token = tokenFromMail(app.mails, email, /Confirm/);
      assert.equal((await app.client.request('POST', '/v1/auth/verify-email', { body: { token } })).status, 200);
    });

    it('a disabled account stops working at once: no refresh, no access', async () => {
      const email = uniqueEmail('disabled');
      const tokens = await verifiedLogin(email, strongPassword());
      const me = await app.client.request<{ id: string }>('GET', '/v1/me', { token: tokens.access_token });
      await app.database.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', me.json().id).execute();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await app.client.request('GET', '/v1/me', { token: tokens.access_token })).status, 401);
      assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401);
    });

    it('a stolen access token cannot guess the current password without limit', async () => {
      const email = uniqueEmail('oracle');
      const password = strongPassword();
      const tokens = await verifiedLogin(email, password);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const guess = await app.client.request('POST', '/v1/me/password', {
          token: tokens.access_token,
          body: { current_password: `guess number ${i} is wrong`, new_password: strongPassword() },
        });
        statuses.push(guess.status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      const right = await app.client.request('POST', '/v1/me/password', { token: tokens.access_token, body: { current_password: password, new_password: strongPassword() } });
      assert.equal(right.status, 429, 'locked even for the right password');
    });
  });
}
