// Attacks on the audit trail's routes, each test named after the one it blocks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { startEngineApp, type EngineApp } from '../../../test/helpers/engine-app.ts';
import { signedInAs, type SignedIn } from './audit-trail.fixtures.ts';

interface OwnEvents {
  events: Record<string, unknown>[];
  next_cursor: string | null;
}

for (const engine of testEngines()) {
  describe(`audit trail route attacks on ${engine.engine}`, () => {
    let app: EngineApp;
    let admin: SignedIn;
    let alice: SignedIn;
    let bob: SignedIn;
    const ownEvents = async (user: SignedIn, query = ''): Promise<OwnEvents> => {
      const response = await app.client.request<OwnEvents>('GET', `/v1/me/events${query}`, { token: user.token });
      assert.equal(response.status, 200, response.text);
      return response.json();
    };
    before(async () => {
      app = await startEngineApp(engine);
      admin = await signedInAs(app, ['admin']);
      // Alice's account is made by the admin: her events include an admin's action.
      alice = await signedInAs(app, ['user'], { type: 'user', id: admin.id });
      bob = await signedInAs(app, ['user']);
      await app.client.request('DELETE', `/v1/me/sessions/${bob.sessionId}`, { token: bob.token });
      await app.client.request('POST', '/v1/auth/login', { body: { email: bob.email, password: 'a wrong password for bob' } });
    });
    after(() => app.close());

    it("user A cannot read user B's events", async () => {
      const seen = JSON.stringify(await ownEvents(alice));
      assert.ok(!seen.includes(bob.id), "Bob's id");
      assert.ok(!seen.includes(bob.sessionId), "Bob's session");
      const actions = (await ownEvents(alice)).events.map((event) => event['action']);
      assert.deepEqual(actions, ['auth.login_succeeded', 'user.created']);
      // No parameter selects whose events: the only user is the token's.
      for (const query of [`?user_id=${bob.id}`, `?actor=${bob.id}`, `?target=${bob.id}`]) {
        const response = await app.client.request('GET', `/v1/me/events${query}`, { token: alice.token });
        assert.equal(response.status, 400, query);
      }
    });

    it("an admin's action on a user's account shows what happened, never the admin's id, address or agent", async () => {
      const text = JSON.stringify(await ownEvents(alice));
      const created = (await ownEvents(alice)).events.find((event) => event['action'] === 'user.created');
      assert.deepEqual([created?.['initiated_by'], created?.['ip'], created?.['user_agent']], ['another_account', null, null]);
      for (const secret of [admin.id, admin.sessionId, '198.51.100.9', 'admin-console']) assert.ok(!text.includes(secret), secret);
    });

    it("an admin's own events do not include what they did to other accounts", async () => {
      const actions = (await ownEvents(admin)).events.map((event) => event['action']);
      // Their creation, sign-in and second-factor enrolment (MFA_REQUIRED_ROLES), not Alice's.
      assert.deepEqual(
        actions,
        ['session.upgraded', 'mfa.totp_enabled', 'mfa.totp_enrolment_started', 'auth.login_succeeded', 'user.created'],
        'their own events, not Alice\'s',
      );
    });

    it('a plain user, an unauthenticated caller and a support agent cannot read the audit trail', async () => {
      const support = await signedInAs(app, ['support']);
      for (const path of ['/v1/admin/audit', '/v1/admin/audit/export', '/v1/admin/audit/verify']) {
        assert.equal((await app.client.request('GET', path)).status, 401, path);
        for (const user of [alice, support]) {
          const response = await app.client.request('GET', path, { token: user.token });
          assert.equal(response.status, 403, path);
          assert.equal(response.json()['code'], 'forbidden');
        }
        assert.equal((await app.client.request('GET', path, { token: admin.token })).status, 200, path);
      }
    });

    it('a forged cursor cannot select past the caller\'s own events', async () => {
      const huge = Buffer.from('9007199254740993').toString('base64url');
      for (const cursor of [huge, Buffer.from('1 OR 1=1').toString('base64url'), Buffer.from('-1').toString('base64url')]) {
        const response = await app.client.request('GET', `/v1/me/events?cursor=${cursor}`, { token: alice.token });
        assert.equal(response.status, 400, cursor);
      }
      const first = await ownEvents(alice, '?limit=1');
      const rest = await ownEvents(alice, `?limit=1&cursor=${first.next_cursor ?? ''}`);
      assert.deepEqual(rest.events.map((event) => event['action']), ['user.created']);
    });

    it('filter values are data, never SQL: hostile strings match nothing and break nothing', async () => {
      for (const value of ["' OR '1'='1", '"; DROP TABLE audit_events; --', '\u0000', 'x'.repeat(256)]) {
        const response = await app.client.request('GET', `/v1/admin/audit?actor=${encodeURIComponent(value)}`, { token: admin.token });
        assert.ok(response.status === 200 || response.status === 400, `${response.status} for ${JSON.stringify(value.slice(0, 20))}`);
        if (response.status === 200) assert.deepEqual(response.json()['events'], []);
      }
      const tooLong = await app.client.request('GET', `/v1/admin/audit?actor=${'x'.repeat(257)}`, { token: admin.token });
      assert.equal(tooLong.status, 400);
    });
  });
}
