// Refresh-token theft and replay (OAuth 2.0 Security BCP §4.14): a refresh token works
// once, a second presentation ends the whole session, and no refreshing can stretch a
// session past its idle or absolute lifetime.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { auditCount, logIn, manualClock, problemCode, registerVerified, type ManualClock, type Tokens } from './security.fixtures.ts';

const IDLE_TTL = 600;
const MAX_AGE = 3600;

for (const engine of testEngines()) {
  describe(`refresh token attacks on ${engine.engine}`, () => {
    let app: EngineApp;
    let time: ManualClock;
    before(async () => {
      time = manualClock();
      app = await startEngineApp(engine, { clock: time.clock, env: { REFRESH_IDLE_TTL: String(IDLE_TTL), SESSION_MAX_AGE: String(MAX_AGE) } });
    });
    after(() => app.close());

    async function session(): Promise<Tokens> {
      const email = uniqueEmail('refresh');
      const password = strongPassword();
      await registerVerified(app, email, password);
      return logIn(app, email, password);
    }

    const refresh = (token: unknown): Promise<JSONResponse<Tokens>> =>
      app.client.request<Tokens>('POST', '/v1/auth/refresh', { body: { refresh_token: token } });
    const me = async (token: string): Promise<number> => (await app.client.request('GET', '/v1/me', { token })).status;

    it('a burst of 20 parallel refreshes with one token yields exactly one new pair', async () => {
      const email = uniqueEmail('race');
      const password = strongPassword();
      await registerVerified(app, email, password);
      // Several bursts: the first requests on a cold server tend to arrive one by one.
      for (let burst = 0; burst < 5; burst++) {
        const tokens = await logIn(app, email, password);
        const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(tokens.refresh_token)));
        const winners = responses.filter((response) => response.status === 200);
        assert.equal(winners.length, 1, `burst ${burst}, statuses: ${responses.map((response) => response.status).join(',')}`);
        for (const loser of responses.filter((response) => response.status !== 200)) {
          assert.equal(loser.status, 401, loser.text);
          assert.equal(problemCode(loser), 'invalid_token');
        }
        // The losers were presentations of a used token: the session is over for everyone.
        const winner = winners[0]!.json();
        assert.equal(await me(winner.access_token), 401, 'the winning pair died with the session');
        assert.equal(await me(tokens.access_token), 401);
        assert.equal((await refresh(winner.refresh_token)).status, 401);
      }
    });

    it('replaying a used refresh token ends the session, its current access token too, and is audited', async () => {
      const tokens = await session();
      const rotated = await refresh(tokens.refresh_token);
      assert.equal(rotated.status, 200, rotated.text);
      const current = rotated.json();
      assert.equal(await me(current.access_token), 200);
      const before = await auditCount(app, 'token.reuse_detected');

      const replay = await refresh(tokens.refresh_token);
      assert.equal(replay.status, 401);
      assert.equal(await me(current.access_token), 401, 'the access token from the rotation');
      assert.equal(await me(tokens.access_token), 401, 'the access token from the login');
      assert.equal((await refresh(current.refresh_token)).status, 401, 'the rotated refresh token');

      assert.equal(await auditCount(app, 'token.reuse_detected'), before + 1);
      const event = await app.database.db
        .selectFrom('audit_events')
        .select(['target_id', 'outcome'])
        .where('action', '=', 'token.reuse_detected')
        .where('target_id', '=', tokens.session_id)
        .executeTakeFirst();
      assert.deepEqual(event, { target_id: tokens.session_id, outcome: 'denied' });
      const row = await app.database.db.selectFrom('sessions').select(['revoked_reason']).where('id', '=', tokens.session_id).executeTakeFirstOrThrow();
      assert.equal(row.revoked_reason, 'refresh_token_reuse');
    });

    it('a refresh token left idle past REFRESH_IDLE_TTL no longer works', async () => {
      const tokens = await session();
      time.advanceSeconds(IDLE_TTL - 1);
      const inTime = await refresh(tokens.refresh_token);
      assert.equal(inTime.status, 200, 'just inside the idle window');
      time.advanceSeconds(IDLE_TTL);
      const late = await refresh(inTime.json().refresh_token);
      assert.equal(late.status, 401);
      assert.equal(problemCode(late), 'invalid_token');
      assert.equal(await me(inTime.json().access_token), 401, 'the idle session is over');
    });

    it('refreshing regularly cannot stretch a session past SESSION_MAX_AGE', async () => {
      let tokens: Pick<Tokens, 'access_token' | 'refresh_token'> = await session();
      const step = IDLE_TTL - 100;
      let elapsed = 0;
      while (elapsed + step < MAX_AGE) {
        time.advanceSeconds(step);
        elapsed += step;
        const next = await refresh(tokens.refresh_token);
        assert.equal(next.status, 200, `refresh at ${elapsed} s`);
        tokens = next.json();
      }
      assert.equal(await me(tokens.access_token), 200);
      time.advanceSeconds(MAX_AGE - elapsed);
      assert.equal((await refresh(tokens.refresh_token)).status, 401, `refresh at ${MAX_AGE} s`);
      assert.equal(await me(tokens.access_token), 401, 'the access token is not outliving its session');
    });

    it('malformed refresh tokens are refused with 400 or 401, never a 5xx', async () => {
      const genuine = (await session()).refresh_token;
      const body = genuine.slice('ghr_'.length);
      const malformed: unknown[] = [
        `ghx_${body}`,
        `GHR_${body}`,
        body,
        genuine.slice(0, -1),
        `${genuine}A`,
        `${genuine} `,
        `ghr_${'A'.repeat(43)}`,
        `ghr_${body.slice(0, 42)}=`,
        `ghr_${body.slice(0, 42)}\u0000`,
        `ghr_' OR '1'='1`,
        'x'.repeat(10 * 1024),
        `ghr_${'é'.repeat(43)}`,
        '',
        null,
        12_345,
        true,
        [genuine, genuine],
        { token: genuine },
      ];
      for (const token of malformed) {
        const response = await refresh(token);
        assert.ok(response.status === 400 || response.status === 401, `${JSON.stringify(token).slice(0, 40)} -> ${response.status} ${response.text}`);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.doesNotMatch(response.text, /access_token/);
      }
      // None of that spent or ended the genuine token.
      assert.equal((await refresh(genuine)).status, 200);
    });
  });
}
