// Refresh-token theft and replay (OAuth 2.0 Security BCP §4.14): a refresh token works
// once, a second presentation ends the whole session, and no refreshing can stretch a
// session past its idle or absolute lifetime. The first suite runs with strict single
// use (REFRESH_TOKEN_REUSE_INTERVAL_SECONDS=0); the second with a reuse interval, in
// which only a retry of the token just rotated gets the same successor again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestEngine } from '../helpers/database.ts';
import { startEngineApp, type EngineApp } from '../helpers/engine-app.ts';
import { strongPassword, uniqueEmail, type JSONResponse } from '../helpers/http.ts';
import { auditCount, logIn, manualClock, problemCode, registerVerified, type ManualClock, type Tokens } from './security.fixtures.ts';

const IDLE_TTL = 600;
const MAX_AGE = 3600;
const REUSE_INTERVAL = 10;

/** A fresh verified account signed in on `app`: its first token pair. */
async function signedInSession(app: EngineApp, label: string): Promise<Tokens> {
  const email = uniqueEmail(label);
  const password = strongPassword();
  await registerVerified(app, email, password);
  return logIn(app, email, password);
}

/** An app whose clock stands still, with the given reuse interval, for the enclosing describe. */
function refreshApp(engine: TestEngine, reuseIntervalSeconds: number): { readonly app: EngineApp; readonly time: ManualClock } {
  const state: { app?: EngineApp; time?: ManualClock } = {};
  before(async () => {
    state.time = manualClock();
    state.app = await startEngineApp(engine, {
      clock: state.time.clock,
      env: { REFRESH_IDLE_TTL: String(IDLE_TTL), SESSION_MAX_AGE: String(MAX_AGE), REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: String(reuseIntervalSeconds) },
    });
  });
  after(() => state.app?.close());
  return {
    get app() {
      return state.app!;
    },
    get time() {
      return state.time!;
    },
  };
}

for (const engine of testEngines()) {
  describe(`refresh token attacks on ${engine.engine}`, () => {
    const rig = refreshApp(engine, 0);
    const session = (): Promise<Tokens> => signedInSession(rig.app, 'refresh');

    const refresh = (token: unknown): Promise<JSONResponse<Tokens>> =>
      rig.app.client.request<Tokens>('POST', '/v1/auth/refresh', { body: { refresh_token: token } });
    const me = async (token: string): Promise<number> => (await rig.app.client.request('GET', '/v1/me', { token })).status;

    it('a burst of 20 parallel refreshes with one token yields exactly one new pair', async () => {
      const email = uniqueEmail('race');
      const password = strongPassword();
      await registerVerified(rig.app, email, password);
      // Several bursts: the first requests on a cold server tend to arrive one by one.
      for (let burst = 0; burst < 5; burst++) {
        const tokens = await logIn(rig.app, email, password);
        const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(tokens.refresh_token)));
        const winners = responses.filter((response) => response.status === 200);
        assert.equal(winners.length, 1, `burst ${burst}, statuses: ${responses.map((response) => response.status).join(',')}`);
        for (const loser of responses.filter((response) => response.status !== 200)) {
          assert.equal(loser.status, 401, loser.text);
          assert.equal(problemCode(loser), 'refresh_token_reused');
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
      const before = await auditCount(rig.app, 'token.reuse_detected');

      const replay = await refresh(tokens.refresh_token);
      assert.equal(replay.status, 401);
      assert.equal(problemCode(replay), 'refresh_token_reused', 'the 401 says why: sign in again, do not retry');
      assert.equal(await me(current.access_token), 401, 'the access token from the rotation');
      assert.equal(await me(tokens.access_token), 401, 'the access token from the login');
      assert.equal((await refresh(current.refresh_token)).status, 401, 'the rotated refresh token');

      assert.equal(await auditCount(rig.app, 'token.reuse_detected'), before + 1);
      const event = await rig.app.database.db
        .selectFrom('audit_events')
        .select(['target_id', 'outcome'])
        .where('action', '=', 'token.reuse_detected')
        .where('target_id', '=', tokens.session_id)
        .executeTakeFirst();
      assert.deepEqual(event, { target_id: tokens.session_id, outcome: 'denied' });
      const row = await rig.app.database.db.selectFrom('sessions').select(['revoked_reason']).where('id', '=', tokens.session_id).executeTakeFirstOrThrow();
      assert.equal(row.revoked_reason, 'refresh_token_reuse');
    });

    it('with REFRESH_TOKEN_REUSE_INTERVAL_SECONDS=0 an immediate retry is a reuse: strict single use', async () => {
      const tokens = await session();
      const rotated = await refresh(tokens.refresh_token);
      assert.equal(rotated.status, 200, rotated.text);
      const retry = await refresh(tokens.refresh_token);
      assert.equal(retry.status, 401, 'no grace at all, even in the same instant');
      assert.equal(problemCode(retry), 'refresh_token_reused');
      assert.equal(await me(rotated.json().access_token), 401, 'the session ended');
    });

    it('a refresh token left idle past REFRESH_IDLE_TTL no longer works', async () => {
      const tokens = await session();
      rig.time.advanceSeconds(IDLE_TTL - 1);
      const inTime = await refresh(tokens.refresh_token);
      assert.equal(inTime.status, 200, 'just inside the idle window');
      rig.time.advanceSeconds(IDLE_TTL);
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
        rig.time.advanceSeconds(step);
        elapsed += step;
        const next = await refresh(tokens.refresh_token);
        assert.equal(next.status, 200, `refresh at ${elapsed} s`);
        tokens = next.json();
      }
      assert.equal(await me(tokens.access_token), 200);
      rig.time.advanceSeconds(MAX_AGE - elapsed);
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

for (const engine of testEngines()) {
  describe(`refresh token reuse interval on ${engine.engine}`, () => {
    const rig = refreshApp(engine, REUSE_INTERVAL);
    const session = (): Promise<Tokens> => signedInSession(rig.app, 'reuse');

    const refresh = (token: string): Promise<JSONResponse<Tokens>> =>
      rig.app.client.request<Tokens>('POST', '/v1/auth/refresh', { body: { refresh_token: token } });
    const me = async (token: string): Promise<number> => (await rig.app.client.request('GET', '/v1/me', { token })).status;
    const tokenRows = async (sessionId: string): Promise<number> =>
      (await rig.app.database.db.selectFrom('refresh_tokens').select('token_hash').where('session_id', '=', sessionId).execute()).length;
    const revokedReason = async (sessionId: string): Promise<string | null> =>
      (await rig.app.database.db.selectFrom('sessions').select('revoked_reason').where('id', '=', sessionId).executeTakeFirstOrThrow()).revoked_reason;

    it('a retried refresh within the reuse interval returns the same new refresh token', async () => {
      const tokens = await session();
      const reuses = await auditCount(rig.app, 'token.reuse_detected');
      const first = await refresh(tokens.refresh_token);
      assert.equal(first.status, 200, first.text);
      rig.time.advanceSeconds(REUSE_INTERVAL - 1);
      const retry = await refresh(tokens.refresh_token);
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.json().refresh_token, first.json().refresh_token, 'the same successor, recomputed, never stored in clear');
      assert.equal(await me(retry.json().access_token), 200, 'a valid access token for the same session');
      assert.equal(await me(first.json().access_token), 200, 'the first response stays good');
      assert.equal(await tokenRows(tokens.session_id), 2, 'one rotation: the login token and its one successor');
      assert.equal(await auditCount(rig.app, 'token.reuse_detected'), reuses, 'a retry is not a reuse');
      assert.equal(await revokedReason(tokens.session_id), null);
      // The successor is single use as usual: it rotates once into a new token.
      const next = await refresh(retry.json().refresh_token);
      assert.equal(next.status, 200, next.text);
      assert.notEqual(next.json().refresh_token, retry.json().refresh_token);
    });

    it('20 parallel refreshes of one token all succeed with one successor and exactly one rotation (within interval)', async () => {
      const email = uniqueEmail('burst');
      const password = strongPassword();
      await registerVerified(rig.app, email, password);
      const reuses = await auditCount(rig.app, 'token.reuse_detected');
      for (let burst = 0; burst < 5; burst++) {
        const tokens = await logIn(rig.app, email, password);
        const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(tokens.refresh_token)));
        const statuses = responses.map((response) => response.status).join(',');
        assert.ok(responses.every((response) => response.status === 200), `burst ${burst}, statuses: ${statuses}`);
        const successors = new Set(responses.map((response) => response.json().refresh_token));
        assert.equal(successors.size, 1, `burst ${burst}: one successor for every presentation`);
        assert.equal(await tokenRows(tokens.session_id), 2, `burst ${burst}: exactly one rotation`);
        const [successor] = successors;
        assert.ok(successor !== undefined);
        assert.equal(await me(responses[19]!.json().access_token), 200);
        // The successor is the live token: it rotates once, and the burst's token is now two steps back.
        const next = await refresh(successor);
        assert.equal(next.status, 200, next.text);
        assert.equal(await revokedReason(tokens.session_id), null);
      }
      assert.equal(await auditCount(rig.app, 'token.reuse_detected'), reuses);
    });

    it('reuse after the interval revokes the session and is audited', async () => {
      const tokens = await session();
      const first = await refresh(tokens.refresh_token);
      assert.equal(first.status, 200, first.text);
      const before = await auditCount(rig.app, 'token.reuse_detected', (details) => details['user_id'] !== undefined);
      rig.time.advanceSeconds(REUSE_INTERVAL);
      const late = await refresh(tokens.refresh_token);
      assert.equal(late.status, 401, late.text);
      assert.equal(problemCode(late), 'refresh_token_reused');
      assert.doesNotMatch(late.text, /ghr_|access_token/, 'the refusal carries no token');
      assert.equal(await me(first.json().access_token), 401, 'the session ended');
      assert.equal((await refresh(first.json().refresh_token)).status, 401, 'the successor died with it');
      assert.equal(await revokedReason(tokens.session_id), 'refresh_token_reuse');
      assert.equal(await auditCount(rig.app, 'token.reuse_detected', (details) => details['user_id'] !== undefined), before + 1);
    });

    it('an older token than the last rotated one is reuse even within the interval', async () => {
      const tokens = await session();
      const second = await refresh(tokens.refresh_token);
      assert.equal(second.status, 200, second.text);
      const third = await refresh(second.json().refresh_token);
      assert.equal(third.status, 200, third.text);
      // The login token's successor is spent: it is not the parent of the current token.
      const replay = await refresh(tokens.refresh_token);
      assert.equal(replay.status, 401, replay.text);
      assert.equal(problemCode(replay), 'refresh_token_reused');
      assert.equal(await revokedReason(tokens.session_id), 'refresh_token_reuse');
      assert.equal(await me(third.json().access_token), 401);
      assert.equal((await refresh(third.json().refresh_token)).status, 401);
    });

    it('a retry within the interval cannot revive a session that was logged out', async () => {
      const tokens = await session();
      const first = await refresh(tokens.refresh_token);
      assert.equal(first.status, 200, first.text);
      assert.equal((await rig.app.client.request('POST', '/v1/auth/logout', { token: first.json().access_token })).status, 204);
      const retry = await refresh(tokens.refresh_token);
      assert.equal(retry.status, 401, retry.text);
      assert.equal(await me(first.json().access_token), 401);
    });
  });
}
