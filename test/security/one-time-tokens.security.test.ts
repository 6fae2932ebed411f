// Email verification and password reset links: replayed, used late, used after another
// link of the account was used, used for the other purpose, or read from a stolen database copy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/core/crypto/random.ts';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, tokenFromMail, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { logIn, manualClock, problemCode, registerVerified, type ManualClock } from './security.fixtures.ts';

const DAY = 24 * 3600;
const RESET_TTL = 30 * 60;

for (const engine of testEngines()) {
  describe(`one-time token attacks on ${engine.engine}`, () => {
    let app: EngineApp;
    let time: ManualClock;
    before(async () => {
      time = manualClock();
      app = await startEngineApp(engine, { clock: time.clock });
    });
    after(() => app.close());

    async function registered(): Promise<{ email: string; password: string; token: string }> {
      const email = uniqueEmail('ott');
      const password = strongPassword();
      assert.equal((await app.client.request('POST', '/v1/auth/register', { body: { email, password } })).status, 202);
      await app.settle();
      return { email, password, token: tokenFromMail(app.mails, email, /Confirm your email/) };
    }

    async function verifiedAccount(): Promise<{ email: string; password: string }> {
      const email = uniqueEmail('ott');
      const password = strongPassword();
      await registerVerified(app, email, password);
      return { email, password };
    }

    async function resetLink(email: string): Promise<string> {
      assert.equal((await app.client.request('POST', '/v1/auth/password/forgot', { body: { email } })).status, 202);
      await app.settle();
      return tokenFromMail(app.mails, email, /Reset your password/);
    }

    const verify = (token: string): Promise<JSONResponse> => app.client.request('POST', '/v1/auth/verify-email', { body: { token } });
    const reset = (token: string, password: string): Promise<JSONResponse> =>
      app.client.request('POST', '/v1/auth/password/reset', { body: { token, password } });

    function assertInvalidLink(response: JSONResponse): void {
      assert.equal(response.status, 400, response.text);
      assert.equal(problemCode(response), 'invalid_link');
    }

    it('a verification link works once', async () => {
      const { token } = await registered();
      assert.equal((await verify(token)).status, 200);
      assertInvalidLink(await verify(token));
    });

    it('a verification link expires after 24 hours', async () => {
      const inTime = await registered();
      const late = await registered();
      time.advanceSeconds(DAY - 1);
      assert.equal((await verify(inTime.token)).status, 200, 'a second before expiry');
      time.advanceSeconds(1);
      assertInvalidLink(await verify(late.token));
      const login = await app.client.request('POST', '/v1/auth/login', { body: { email: late.email, password: late.password } });
      assert.equal(login.status, 403, 'the address is still unconfirmed');
    });

    it('a reset link works once', async () => {
      const { email } = await verifiedAccount();
      const token = await resetLink(email);
      const first = strongPassword();
      assert.equal((await reset(token, first)).status, 204);
      assertInvalidLink(await reset(token, strongPassword()));
      await logIn(app, email, first);
    });

    it('a reset link expires after 30 minutes', async () => {
      const inTime = await verifiedAccount();
      const late = await verifiedAccount();
      const inTimeToken = await resetLink(inTime.email);
      const lateToken = await resetLink(late.email);
      time.advanceSeconds(RESET_TTL - 1);
      assert.equal((await reset(inTimeToken, strongPassword())).status, 204, 'a second before expiry');
      time.advanceSeconds(1);
      assertInvalidLink(await reset(lateToken, strongPassword()));
      await logIn(app, late.email, late.password);
    });

    it('once one reset link is used, every other outstanding link of the account is dead', async () => {
      const { email } = await verifiedAccount();
      const first = await resetLink(email);
      const second = await resetLink(email);
      const third = await resetLink(email);
      const next = strongPassword();
      assert.equal((await reset(second, next)).status, 204);
      assertInvalidLink(await reset(first, strongPassword()));
      assertInvalidLink(await reset(third, strongPassword()));
      await logIn(app, email, next);
    });

    it('a link for one purpose cannot be used for the other', async () => {
      const { email, token: verification } = await registered();
      assertInvalidLink(await reset(verification, strongPassword()));
      assert.equal((await verify(verification)).status, 200, 'the refused attempt did not spend it');
      const resetToken = await resetLink(email);
      assertInvalidLink(await verify(resetToken));
      assert.equal((await reset(resetToken, strongPassword())).status, 204);
    });

    it('a completed reset ends every session of the account', async () => {
      const { email, password } = await verifiedAccount();
      const sessions = [await logIn(app, email, password), await logIn(app, email, password), await logIn(app, email, password)];
      for (const session of sessions) assert.equal((await app.client.request('GET', '/v1/me', { token: session.access_token })).status, 200);
      assert.equal((await reset(await resetLink(email), strongPassword())).status, 204);
      for (const session of sessions) {
        assert.equal((await app.client.request('GET', '/v1/me', { token: session.access_token })).status, 401);
        assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body: { refresh_token: session.refresh_token } })).status, 401);
      }
    });

    it('a stolen copy of the database holds no usable token: only SHA-256 digests are stored', async () => {
      const { email, password, token: verification } = await registered();
      assert.equal((await verify(verification)).status, 200);
      const resetToken = await resetLink(email);
      const session = await logIn(app, email, password);
      const rotated = await app.client.request<{ refresh_token: string }>('POST', '/v1/auth/refresh', { body: { refresh_token: session.refresh_token } });
      assert.equal(rotated.status, 200);
      const plaintexts = [verification, resetToken, session.refresh_token, rotated.json().refresh_token];

      const db = app.database.db;
      const oneTime = await db.selectFrom('one_time_tokens').selectAll().execute();
      const refresh = await db.selectFrom('refresh_tokens').selectAll().execute();
      const elsewhere = [
        ...(await db.selectFrom('sessions').selectAll().execute()),
        ...(await db.selectFrom('audit_events').selectAll().execute()),
        ...(await db.selectFrom('users').selectAll().execute()),
      ];
      const dump = JSON.stringify([oneTime, refresh, elsewhere]);
      for (const plaintext of plaintexts) {
        // The random part alone, too: a stored token without its `ghr_` prefix is still a token.
        const secret = plaintext.replace(/^ghr_/, '');
        assert.ok(!dump.includes(secret), 'a plaintext token is stored');
        assert.ok(!app.logs.some((line) => line.includes(secret)), 'a plaintext token is logged');
      }
      const oneTimeHashes = new Set(oneTime.map((row) => row.token_hash));
      const refreshHashes = new Set(refresh.map((row) => row.token_hash));
      assert.ok(oneTimeHashes.has(hashToken(verification)) && oneTimeHashes.has(hashToken(resetToken)));
      assert.ok(refreshHashes.has(hashToken(session.refresh_token)) && refreshHashes.has(hashToken(rotated.json().refresh_token)));
      for (const row of [...oneTime, ...refresh]) assert.match(row.token_hash, /^[A-Za-z0-9_-]{43}$/, 'a SHA-256 digest, base64url');
    });
  });
}
