// Passkeys over the real routes, for ES256 and Ed25519 credentials: registering, listing,
// renaming and removing them (/v1/me/passkeys), passwordless login, a passkey as the
// second step of a password login and alone for re-authentication, and an admin's reset
// of a user's second factors. The attacks on the same routes are in
// passkey-routes.security.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { call, createSignedIn, createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import type { Tokens } from '../../../test/security/security.fixtures.ts';
import {
  ALGORITHMS,
  claimsOf,
  newDevice,
  passkeyAccount,
  passkeyAppPerSuite,
  passwordless,
  passwordStep,
  reauthenticationOptions,
  registerOver,
  type Registered,
} from './passkey-routes.fixtures.ts';

const PASSKEY_FIELDS = ['backed_up', 'created_at', 'device_type', 'id', 'last_used_at', 'name', 'transports'];

for (const engine of testEngines()) {
  describe(`passkey routes on ${engine.engine}`, () => {
    const suite = passkeyAppPerSuite(engine);
    const seconds = (): number => Math.floor(suite.time.clock().getTime() / 1000);
    const recoveryCodesOf = async (userId: string): Promise<number> =>
      (await suite.test.services.auth.db.selectFrom('mfa_recovery_codes').select('code_hash').where('user_id', '=', userId).execute()).length;

    for (const algorithm of ALGORITHMS) {
      it(`registers, lists, renames and removes ${algorithm} passkeys; the first brings recovery codes, removing the last takes them`, async () => {
        const account = await createUser(suite.test, { label: 'manage' });
        const token = (await signIn(suite.test, account)).access_token;
        const laptop = newDevice({ algorithm });
        const first = await registerOver(suite, token, laptop, 'Laptop');
        assert.equal(first.status, 201, first.body);
        const registered = first.json<Registered>();
        assert.deepEqual([registered.passkey.name, registered.passkey.device_type, registered.passkey.backed_up], ['Laptop', 'singleDevice', false]);
        assert.equal(registered.recovery_codes?.length, 10);
        assert.equal(new Set(registered.recovery_codes).size, 10);

        const phone = newDevice({ algorithm, synced: true });
        const second = await registerOver(suite, token, phone);
        assert.equal(second.status, 201, second.body);
        const synced = second.json<Registered>();
        assert.deepEqual([synced.passkey.device_type, synced.passkey.backed_up, synced.recovery_codes], ['multiDevice', true, null], 'a second factor brings no new codes');

        const listed = await call(suite.test, 'GET', '/v1/me/passkeys', { token });
        assert.equal(listed.status, 200);
        const passkeys = listed.json<Record<string, unknown>[]>();
        // Same created_at under the standing clock: the order between them is the ids' random part.
        assert.deepEqual(passkeys.map((passkey) => passkey['id']).sort(), [registered.passkey.id, synced.passkey.id].sort());
        for (const passkey of passkeys) assert.deepEqual(Object.keys(passkey).sort(), PASSKEY_FIELDS);
        // No key material, no credential id, no counter: nothing a phisher could use.
        for (const credential of [...laptop.credentials, ...phone.credentials]) {
          assert.ok(!listed.body.includes(credential.id), 'credential id listed');
          const publicKey = credential.publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
          assert.ok(!listed.body.includes(publicKey.slice(-32)), 'public key listed');
        }

        const renamed = await call(suite.test, 'PATCH', `/v1/me/passkeys/${registered.passkey.id}`, { token, body: { name: 'Work laptop' } });
        assert.equal(renamed.status, 204, renamed.body);
        const after = await call(suite.test, 'GET', '/v1/me/passkeys', { token });
        assert.equal(after.json<{ id: string; name: string }[]>().find((passkey) => passkey.id === registered.passkey.id)?.name, 'Work laptop');

        assert.equal((await call(suite.test, 'DELETE', `/v1/me/passkeys/${registered.passkey.id}`, { token })).status, 204);
        assert.equal(await recoveryCodesOf(account.id), 10, 'another factor remains: the codes stay');
        assert.equal((await call(suite.test, 'DELETE', `/v1/me/passkeys/${synced.passkey.id}`, { token })).status, 204);
        assert.equal(await recoveryCodesOf(account.id), 0, 'no factor left: no codes');
        assert.deepEqual((await call(suite.test, 'GET', '/v1/me/passkeys', { token })).json(), []);
      });

      it(`passwordless login with a ${algorithm} passkey: amr hwk or swk with mfa, auth_time now, the session says passkey`, async () => {
        for (const [synced, amr] of [[false, ['hwk', 'mfa']], [true, ['mfa', 'swk']]] as const) {
          const account = await passkeyAccount(suite, { algorithm, synced });
          const login = await passwordless(suite, account.device);
          assert.equal(login.status, 200, login.body);
          const tokens = login.json<Tokens & { device_token: string }>();
          const claims = claimsOf(tokens.access_token);
          assert.deepEqual([claims['sub'], claims['amr'], claims['auth_time']], [account.id, amr, seconds()]);
          assert.match(tokens.device_token, /^ghd_/);
          const sessions = await call(suite.test, 'GET', '/v1/me/sessions', { token: tokens.access_token });
          const current = sessions.json<{ current: boolean; auth_method: string; amr: string[] }[]>().find((session) => session.current);
          assert.deepEqual([current?.auth_method, current?.amr], ['passkey', amr]);
        }
      });

      it(`a ${algorithm} passkey completes the second step of a password login: amr pwd, mfa and hwk`, async () => {
        const account = await passkeyAccount(suite, { algorithm });
        const step = await passwordStep(suite, account);
        assert.deepEqual(step.methods, ['passkey', 'recovery_code']);
        assert.deepEqual(step.passkey_options.allowCredentials?.map((allowed) => allowed.id), [account.credential.id]);
        assert.equal(step.passkey_options.rpId, 'localhost');
        const done = await call(suite.test, 'POST', '/v1/auth/mfa', { body: { mfa_token: step.mfa_token, passkey: account.device.authenticate(step.passkey_options) } });
        assert.equal(done.status, 200, done.body);
        assert.deepEqual(claimsOf(done.json<Tokens>().access_token)['amr'], ['hwk', 'mfa', 'pwd']);
        const sessions = await call(suite.test, 'GET', '/v1/me/sessions', { token: done.json<Tokens>().access_token });
        assert.equal(sessions.json<{ current: boolean; auth_method: string }[]>().find((session) => session.current)?.auth_method, 'password+passkey');
      });
    }

    it('a synced passkey as the second step says swk', async () => {
      const account = await passkeyAccount(suite, { synced: true });
      const step = await passwordStep(suite, account);
      const done = await call(suite.test, 'POST', '/v1/auth/mfa', { body: { mfa_token: step.mfa_token, passkey: account.device.authenticate(step.passkey_options) } });
      assert.equal(done.status, 200, done.body);
      assert.deepEqual(claimsOf(done.json<Tokens>().access_token)['amr'], ['mfa', 'pwd', 'swk']);
    });

    it('a passkey alone re-authenticates: auth_time moves to now and step-up routes open again', async () => {
      const account = await passkeyAccount(suite, { algorithm: 'Ed25519' });
      const token = account.tokens.access_token;
      suite.time.advanceSeconds(601);
      const stale = await call(suite.test, 'DELETE', `/v1/me/passkeys/${account.passkeyId}`, { token });
      assert.deepEqual([stale.status, stale.code], [401, 'reauthentication_required']);
      const options = await reauthenticationOptions(suite, token);
      assert.equal(options.userVerification, 'required');
      assert.deepEqual(options.allowCredentials?.map((allowed) => allowed.id), [account.credential.id]);
      const again = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token, body: { passkey: account.device.authenticate(options) } });
      assert.equal(again.status, 200, again.body);
      assert.deepEqual(again.json(), { auth_time: suite.time.clock().toISOString(), amr: ['hwk', 'mfa'] });
      assert.equal((await call(suite.test, 'DELETE', `/v1/me/passkeys/${account.passkeyId}`, { token })).status, 204);
    });

    it("an admin's reset removes a user's passkeys, TOTP and recovery codes, ends their sessions, mails and audits", async () => {
      const admin = await createSignedIn(suite.test, { roles: ['admin'], label: 'admin' });
      const user = await createUser(suite.test, { label: 'reset' });
      const tokens = await signIn(suite.test, user);
      await enrolTotp(suite.test, tokens.access_token, suite.time.clock());
      const added = await registerOver(suite, tokens.access_token, newDevice({ algorithm: 'Ed25519' }));
      assert.equal(added.status, 201, added.body);
      const db = suite.test.services.auth.db;
      const rowsOf = async (): Promise<number[]> =>
        Promise.all(
          (['passkeys', 'mfa_totp', 'mfa_recovery_codes'] as const).map(async (table) => (await db.selectFrom(table).select('user_id').where('user_id', '=', user.id).execute()).length),
        );
      assert.deepEqual(await rowsOf(), [1, 1, 10]);

      const reset = await call(suite.test, 'DELETE', `/v1/admin/users/${user.id}/mfa`, { token: admin.tokens.access_token });
      assert.equal(reset.status, 204, reset.body);
      assert.deepEqual(await rowsOf(), [0, 0, 0]);
      const revoked = await call(suite.test, 'GET', '/v1/me/passkeys', { token: tokens.access_token });
      assert.deepEqual([revoked.status, revoked.code], [401, 'unauthorized'], 'their sessions ended');
      const audit = await db.selectFrom('audit_events').select(['actor_id', 'details']).where('action', '=', 'mfa.reset_by_admin').where('target_id', '=', user.id).execute();
      assert.deepEqual(audit.map((row) => [row.actor_id, row.details['passkeys_removed'], row.details['authenticator_app_removed']]), [[admin.id, 1, true]]);
      await suite.test.settle();
      assert.ok(suite.test.mails.some((mail) => mail.to === user.email && /administrator removed the second factors/.test(mail.text)), 'the user is told');
      // A password alone signs them in again: nothing is left to ask for.
      assert.equal((await signIn(suite.test, user)).token_type, 'Bearer');
    });
  });
}
