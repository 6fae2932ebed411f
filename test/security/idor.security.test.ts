// Insecure direct object references: user A names user B's session by its id. /v1/me
// routes scope every query by the caller, so B's session is invisible to A, revoking it
// answers exactly what an unknown id answers (404), and B stays signed in.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { testEngines } from '../helpers/database.ts';
import { appPerSuite, call, createSignedIn, signIn } from './authz.fixtures.ts';
import { withoutRequestId } from './security.fixtures.ts';

for (const engine of testEngines()) {
  describe(`IDOR on sessions on ${engine.engine}`, () => {
    const suite = appPerSuite(engine);
    let test: TestApp;
    before(() => {
      test = suite.test;
    });

    it("user A's session list shows none of user B's sessions", async () => {
      const a = await createSignedIn(test, { label: 'idor-a' });
      const b = await createSignedIn(test, { label: 'idor-b' });
      const listed = await call(test, 'GET', '/v1/me/sessions', { token: a.tokens.access_token });
      assert.equal(listed.status, 200);
      const ids = listed.json<{ id: string }[]>().map((session) => session.id);
      assert.deepEqual(ids, [a.tokens.session_id]);
      assert.ok(!listed.body.includes(b.tokens.session_id));
    });

    it("user A cannot revoke user B's session: 404 like an unknown id, and B's session still works", async () => {
      const a = await createSignedIn(test, { label: 'idor-a' });
      const b = await createSignedIn(test, { label: 'idor-b' });
      const attack = await call(test, 'DELETE', `/v1/me/sessions/${b.tokens.session_id}`, { token: a.tokens.access_token });
      assert.equal(attack.status, 404, attack.body);
      assert.equal(attack.code, 'not_found');
      const unknown = await call(test, 'DELETE', `/v1/me/sessions/${randomUUID()}`, { token: a.tokens.access_token });
      assert.deepEqual(withoutRequestId(attack.body), withoutRequestId(unknown.body), 'B\'s session looks like no session at all');

      const me = await call(test, 'GET', '/v1/me', { token: b.tokens.access_token });
      assert.equal(me.status, 200, 'B is still signed in');
      const refreshed = await call(test, 'POST', '/v1/auth/refresh', { body: { refresh_token: b.tokens.refresh_token } });
      assert.equal(refreshed.status, 200, 'B can still refresh');
      const row = await test.services.auth.db.selectFrom('sessions').select('revoked_at').where('id', '=', b.tokens.session_id).executeTakeFirstOrThrow();
      assert.equal(row.revoked_at, null);
      const audited = await test.services.auth.db.selectFrom('audit_events').select('id').where('action', '=', 'session.revoked').where('actor_id', '=', a.id).execute();
      assert.equal(audited.length, 0, 'no revocation was recorded');
    });

    it("revoking one's other sessions or logging out leaves everyone else's sessions alone", async () => {
      const a = await createSignedIn(test, { label: 'idor-a' });
      const b = await createSignedIn(test, { label: 'idor-b' });
      await signIn(test, a);
      assert.equal((await call(test, 'DELETE', '/v1/me/sessions', { token: a.tokens.access_token })).status, 204);
      assert.equal((await call(test, 'POST', '/v1/auth/logout', { token: a.tokens.access_token })).status, 204);
      assert.equal((await call(test, 'GET', '/v1/me', { token: b.tokens.access_token })).status, 200);
    });

    it("the profile is always the caller's: an id in the query or body is not taken", async () => {
      const a = await createSignedIn(test, { label: 'idor-a' });
      const b = await createSignedIn(test, { label: 'idor-b' });
      const mine = await call(test, 'GET', `/v1/me?id=${b.id}`, { token: a.tokens.access_token });
      // Either refused outright or answered with A's own profile; never B's.
      assert.ok(mine.status === 400 || (mine.status === 200 && mine.json()['id'] === a.id), mine.body);
      assert.ok(!mine.body.includes(b.email));
      const patch = await call(test, 'PATCH', '/v1/me', { token: a.tokens.access_token, body: { id: b.id, name: 'Mallory' } });
      assert.equal(patch.status, 400);
      const profile = await call(test, 'GET', '/v1/me', { token: b.tokens.access_token });
      assert.equal(profile.json()['name'], null);
    });
  });
}
