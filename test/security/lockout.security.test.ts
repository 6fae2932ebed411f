// Online password guessing against one account, over real HTTP: the lockout must hold
// for sequential and for parallel guessing, and lift only by time or by a reset.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { findUserByEmailIndex } from '../../src/features/users/repo.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { logIn, manualClock, registerVerified, type ManualClock } from './security.fixtures.ts';

const THRESHOLD = 3;
const DURATION = 300;
const LOCK_MAIL = /locked/;

for (const engine of testEngines()) {
  describe(`lockout attacks over HTTP on ${engine.engine}`, () => {
    let app: EngineApp;
    let time: ManualClock;
    let evaluations = 0;

    before(async () => {
      time = manualClock();
      app = await startEngineApp(engine, {
        clock: time.clock,
        env: { LOCKOUT_THRESHOLD: String(THRESHOLD), LOCKOUT_DURATION: String(DURATION) },
      });
      // Count every password evaluation the login path makes, real or dummy.
      const passwords = app.services.auth.passwords;
      const verify = passwords.verify.bind(passwords);
      const dummyVerify = passwords.dummyVerify.bind(passwords);
      passwords.verify = async (stored, password) => {
        evaluations += 1;
        return verify(stored, password);
      };
      passwords.dummyVerify = async (password) => {
        evaluations += 1;
        await dummyVerify(password);
      };
    });
    after(() => app.close());
    beforeEach(() => {
      evaluations = 0;
    });

    const login = (email: string, password: string): Promise<JSONResponse> =>
      app.client.request('POST', '/v1/auth/login', { body: { email, password } });

    async function account(): Promise<{ email: string; password: string }> {
      const email = uniqueEmail('lock');
      const password = strongPassword();
      await registerVerified(app, email, password);
      return { email, password };
    }

    async function failTimes(email: string, times: number): Promise<void> {
      for (let attempt = 0; attempt < times; attempt++) {
        const response = await login(email, 'definitely not the password');
        assert.equal(response.status, 401, `attempt ${attempt + 1}: ${response.text}`);
      }
    }

    function lockMails(email: string): number {
      return app.mails.filter((mail) => mail.to === email && LOCK_MAIL.test(mail.subject)).length;
    }

    it('guessing past the threshold locks the account: even the right password gets 429 with Retry-After', async () => {
      const { email, password } = await account();
      await failTimes(email, THRESHOLD);
      const before = evaluations;
      const locked = await login(email, password);
      assert.equal(locked.status, 429, locked.text);
      assert.equal(locked.json()['code'], 'rate_limited');
      assert.equal(locked.headers.get('retry-after'), String(DURATION));
      assert.equal(evaluations, before, 'no password is evaluated while locked');
      assert.doesNotMatch(locked.text, /access_token/);
    });

    it('a lock ends after its duration, and the owner can log in again', async () => {
      const { email, password } = await account();
      await failTimes(email, THRESHOLD);
      time.advanceSeconds(DURATION - 1);
      const almost = await login(email, password);
      assert.equal(almost.status, 429);
      assert.equal(almost.headers.get('retry-after'), '1');
      time.advanceSeconds(1);
      await logIn(app, email, password);
    });

    it('a guesser who waits out the lock is locked twice as long the second time', async () => {
      const { email, password } = await account();
      await failTimes(email, THRESHOLD);
      assert.equal((await login(email, password)).headers.get('retry-after'), String(DURATION));
      time.advanceSeconds(DURATION);
      await failTimes(email, THRESHOLD);
      const second = await login(email, password);
      assert.equal(second.status, 429);
      assert.equal(second.headers.get('retry-after'), String(2 * DURATION));
      time.advanceSeconds(2 * DURATION);
      await failTimes(email, THRESHOLD);
      assert.equal((await login(email, password)).headers.get('retry-after'), String(4 * DURATION));
    });

    it('a successful login resets the count, so the owner\'s own typos never add up to a lock', async () => {
      const { email, password } = await account();
      await failTimes(email, THRESHOLD - 1);
      await logIn(app, email, password);
      await failTimes(email, THRESHOLD - 1);
      await logIn(app, email, password);
      assert.equal(lockMails(email), 0);
    });

    it('a completed password reset lifts the lock at once', async () => {
      const { email } = await account();
      await failTimes(email, THRESHOLD);
      assert.equal((await login(email, 'anything at all')).status, 429);
      assert.equal((await app.client.request('POST', '/v1/auth/password/forgot', { body: { email } })).status, 202);
      await app.settle();
      const token = tokenFromMail(app.mails, email, /Reset your password/);
      const next = strongPassword();
      const reset = await app.client.request('POST', '/v1/auth/password/reset', { body: { token, password: next } });
      assert.equal(reset.status, 204, reset.text);
      await logIn(app, email, next);
    });

    it('the owner hears of a lock by mail, exactly once, however many guesses follow', async () => {
      const { email, password } = await account();
      await failTimes(email, THRESHOLD);
      for (let attempt = 0; attempt < 5; attempt++) assert.equal((await login(email, password)).status, 429);
      await app.settle();
      assert.equal(lockMails(email), 1);
    });

    it('a parallel burst of 50 wrong guesses evaluates no more passwords than the threshold', async () => {
      const { email, password } = await account();
      const user = await findUserByEmailIndex(app.database.db, app.services.auth.blindIndex.email(email));
      assert.ok(user !== null);
      evaluations = 0;
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => login(email, `wrong guess number ${i}`)));
      const statuses = responses.map((response) => response.status);
      assert.ok(statuses.every((status) => status === 401 || status === 429), `statuses: ${statuses.join(',')}`);
      assert.ok(evaluations <= THRESHOLD, `${evaluations} passwords evaluated, threshold ${THRESHOLD}`);
      assert.ok(statuses.filter((status) => status === 401).length <= THRESHOLD);
      const rows = await app.database.db
        .selectFrom('audit_events')
        .select('details')
        .where('action', '=', 'auth.login_failed')
        .where('target_id', '=', user.id)
        .execute();
      assert.ok(rows.filter((row) => row.details['reason'] === 'wrong_password').length <= THRESHOLD);
      // The burst locked the account: the right password is refused, and one lock mail went out.
      assert.equal((await login(email, password)).status, 429);
      await app.settle();
      assert.equal(lockMails(email), 1);
    });

    it('a parallel burst against an unknown email is bounded the same way', async () => {
      const email = uniqueEmail('ghost');
      evaluations = 0;
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => login(email, `wrong guess number ${i}`)));
      assert.ok(evaluations <= THRESHOLD, `${evaluations} dummy evaluations, threshold ${THRESHOLD}`);
      assert.equal(responses.filter((response) => response.status === 429).length, 50 - evaluations);
    });
  });
}
