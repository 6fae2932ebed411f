// Attacks on the passkey routes, over HTTP, for ES256 and Ed25519 credentials: a stolen
// old session adding or removing a passkey; phished, replayed, unverified, unknown and
// cloned assertions at passwordless login (each the same 401, a clone audited); another
// account's passkey, a foreign challenge and a replayed assertion at a login's second
// step and at re-authentication; an admin reset by someone who may not make it. The
// library-level checks behind these are in passkeys.security.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enrolTotp } from '../../../test/helpers/mfa.ts';
import { testEngines } from '../../../test/helpers/database.ts';
import { call, createCustomRole, createSignedIn, createUser, signIn } from '../../../test/security/authz.fixtures.ts';
import { withoutRequestId, type Tokens } from '../../../test/security/security.fixtures.ts';
import {
  ALGORITHMS,
  assertRefused,
  newDevice,
  passkeyAccount,
  passkeyAppPerSuite,
  passwordless,
  passwordlessOptions,
  passwordStep,
  reauthenticationOptions,
  registerOver,
  registrationOptions,
  type Answer,
} from './passkey-routes.fixtures.ts';

const PHISHING_ORIGIN = 'http://localhost.example-login.test:8080';

for (const engine of testEngines()) {
  describe(`passkey route attacks on ${engine.engine}`, () => {
    const suite = passkeyAppPerSuite(engine);
    const secondStep = (body: Record<string, unknown>): Promise<Answer> => call(suite.test, 'POST', '/v1/auth/mfa', { body });
    // The reason of a refusal goes only to the log, beside the request id: proof that the
    // refusal came from the check the attack was built to fail.
    const assertLoggedReason = (answer: Answer, reason: string): void => {
      const requestId = answer.json()['request_id'] as string;
      assert.ok(suite.test.logs.some((line) => line.includes(requestId) && line.includes(`passkey: ${reason}`)), `${reason} not logged for ${requestId}`);
    };

    it('a session authenticated more than REAUTH_MAX_AGE ago cannot add or remove a passkey until it re-authenticates', async () => {
      const account = await passkeyAccount(suite, { label: 'stale' });
      const token = account.tokens.access_token;
      const intruder = newDevice();
      const prepared = intruder.register(await registrationOptions(suite, token));
      suite.time.advanceSeconds(601);
      const refused = [
        await call(suite.test, 'POST', '/v1/me/passkeys/options', { token }),
        await call(suite.test, 'POST', '/v1/me/passkeys', { token, body: { response: prepared } }),
        await call(suite.test, 'DELETE', `/v1/me/passkeys/${account.passkeyId}`, { token }),
      ];
      for (const answer of refused) assert.deepEqual([answer.status, answer.code], [401, 'reauthentication_required'], answer.body);
      assert.equal((await call(suite.test, 'GET', '/v1/me/passkeys', { token })).json<unknown[]>().length, 1, 'nothing added or removed');

      const again = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token, body: { password: account.password, recovery_code: account.recoveryCodes[0] } });
      assert.equal(again.status, 200, again.body);
      const added = await registerOver(suite, token, newDevice({ algorithm: 'Ed25519' }));
      assert.equal(added.status, 201, added.body);
      assert.equal((await call(suite.test, 'DELETE', `/v1/me/passkeys/${account.passkeyId}`, { token })).status, 204);
    });

    for (const algorithm of ALGORITHMS) {
      it(`passwordless login refuses, with one 401, a ${algorithm} assertion phished at another origin or RP ID, replayed, unverified, unknown or cloned`, async () => {
        const account = await passkeyAccount(suite, { algorithm, label: 'owner' });
        const { device } = account;
        const stranger = newDevice({ algorithm });
        // A credential the server never stored: answered to options it never saw posted.
        stranger.register(await registrationOptions(suite, (await signIn(suite.test, await createUser(suite.test))).access_token));

        const db = suite.test.services.auth.db;
        const since = (await db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow()).seq;
        const options = await passwordlessOptions(suite);
        const genuine = device.authenticate(options);
        const accepted = account.credential.counter;
        assert.equal((await call(suite.test, 'POST', '/v1/auth/passkey', { body: { response: genuine } })).status, 200);
        const refusals: [string, Answer][] = [
          ['phishing origin', await passwordless(suite, device, { origin: PHISHING_ORIGIN })],
          ['another RP ID', await passwordless(suite, device, { rpId: 'example-login.test' })],
          ['replayed assertion', await call(suite.test, 'POST', '/v1/auth/passkey', { body: { response: genuine } })],
          ['a fresh assertion on a spent challenge', await call(suite.test, 'POST', '/v1/auth/passkey', { body: { response: device.authenticate(options) } })],
          ['no user verification', await passwordless(suite, device, { userVerified: false })],
          ['unknown credential', await passwordless(suite, stranger)],
          // A clone signs validly but cannot know the counter has moved on.
          ['counter regression', await passwordless(suite, device, { counter: accepted })],
        ];
        const first = withoutRequestId(refusals[0]![1].body);
        for (const [label, answer] of refusals) {
          assertRefused(answer, 'invalid_credentials', label);
          assert.deepEqual(withoutRequestId(answer.body), first, `${label}: the same problem`);
        }
        // Each refusal failed the check it was built to fail (the reason is for the audit trail only).
        const failures = await db.selectFrom('audit_events').select('details').where('action', '=', 'auth.login_failed').where('seq', '>', since).orderBy('seq').execute();
        assert.deepEqual(failures.map((row) => row.details['reason']), ['origin', 'rp_id', 'challenge', 'challenge', 'user_verification', 'unknown_credential', 'counter_regression']);
        const clones = await db.selectFrom('audit_events').select(['outcome', 'details']).where('action', '=', 'passkey.counter_regression').where('target_id', '=', account.id).execute();
        assert.deepEqual(clones.map((row) => [row.outcome, row.details['ceremony']]), [['denied', 'passwordless']]);
        const sessions = await db.selectFrom('sessions').select('id').where('user_id', '=', account.id).execute();
        assert.equal(sessions.length, 2, 'the enrolment session and the one genuine login');
        // The owner's authenticator, counting on, still signs in.
        assert.equal((await passwordless(suite, device)).status, 200);
      });

      it(`the second step refuses another account's ${algorithm} passkey, an assertion for another challenge, and a replay with a new mfa_token`, async () => {
        const victim = await passkeyAccount(suite, { algorithm, label: 'victim' });
        const attacker = await passkeyAccount(suite, { algorithm, label: 'attacker' });
        const step = await passwordStep(suite, victim);

        const crossed = await secondStep({ mfa_token: step.mfa_token, passkey: attacker.device.authenticate(step.passkey_options, { credential: attacker.credential }) });
        assertRefused(crossed, 'invalid_mfa_code', "another account's passkey");
        assertLoggedReason(crossed, 'wrong_user');
        const other = await passwordStep(suite, victim);
        const foreign = await secondStep({ mfa_token: step.mfa_token, passkey: victim.device.authenticate(other.passkey_options) });
        assertRefused(foreign, 'invalid_mfa_code', "another login's challenge");
        assertLoggedReason(foreign, 'challenge');
        const passwordlessChallenge = await secondStep({ mfa_token: step.mfa_token, passkey: victim.device.authenticate(await passwordlessOptions(suite)) });
        assertRefused(passwordlessChallenge, 'invalid_mfa_code', 'a passwordless challenge');
        assertLoggedReason(passwordlessChallenge, 'challenge');

        const accepted = victim.device.authenticate(step.passkey_options);
        const done = await secondStep({ mfa_token: step.mfa_token, passkey: accepted });
        assert.equal(done.status, 200, done.body);
        const replay = await secondStep({ mfa_token: (await passwordStep(suite, victim)).mfa_token, passkey: accepted });
        assertRefused(replay, 'invalid_mfa_code', 'a replayed assertion');
        assertLoggedReason(replay, 'challenge');
        const sessions = await suite.test.services.auth.db.selectFrom('sessions').select('id').where('user_id', '=', victim.id).execute();
        assert.equal(sessions.length, 2, 'the enrolment session and the one genuine login');
      });
    }

    it("re-authentication refuses another account's passkey and an unverified one; auth_time stays", async () => {
      const victim = await passkeyAccount(suite, { label: 'victim' });
      const attacker = await passkeyAccount(suite, { algorithm: 'Ed25519', label: 'attacker' });
      const token = victim.tokens.access_token;
      suite.time.advanceSeconds(601);
      const options = await reauthenticationOptions(suite, token);
      const crossed = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token, body: { passkey: attacker.device.authenticate(options, { credential: attacker.credential }) } });
      assertRefused(crossed, 'invalid_mfa_code', "another account's passkey");
      assertLoggedReason(crossed, 'wrong_user');
      const unverified = await call(suite.test, 'POST', '/v1/auth/reauthenticate', { token, body: { passkey: victim.device.authenticate(await reauthenticationOptions(suite, token), { userVerified: false }) } });
      assertRefused(unverified, 'invalid_mfa_code', 'no user verification');
      assertLoggedReason(unverified, 'user_verification');
      const still = await call(suite.test, 'DELETE', `/v1/me/passkeys/${victim.passkeyId}`, { token });
      assert.deepEqual([still.status, still.code], [401, 'reauthentication_required']);
    });

    it("an admin's MFA reset: support may not; a custom role with users:write may for a user, not for an admin", async () => {
      const admin = await createSignedIn(suite.test, { roles: ['admin'], label: 'admin' });
      const user = await passkeyAccount(suite, { label: 'plain' });
      const support = await createSignedIn(suite.test, { roles: ['support'], label: 'support' });
      const writer = await createSignedIn(suite.test, { roles: [await createCustomRole(suite.test, ['users:read', 'users:write'], 'writer')], label: 'writer' });
      // Removing anyone's factors needs a second-factor session of one's own (step-up.security.test.ts).
      await enrolTotp(suite.test, writer.tokens.access_token, suite.time.clock());
      const reset = (actor: { tokens: Tokens }, targetId: string): Promise<Answer> => call(suite.test, 'DELETE', `/v1/admin/users/${targetId}/mfa`, { token: actor.tokens.access_token });

      const bySupport = await reset(support, user.id);
      assert.deepEqual([bySupport.status, bySupport.code], [403, 'forbidden'], bySupport.body);
      const ofAdmin = await reset(writer, admin.id);
      assert.deepEqual([ofAdmin.status, ofAdmin.code], [403, 'forbidden'], ofAdmin.body);
      const db = suite.test.services.auth.db;
      assert.equal((await db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', admin.id).execute()).length, 1, "the admin's factor stays");
      assert.equal((await db.selectFrom('passkeys').select('user_id').where('user_id', '=', user.id).execute()).length, 1, "the user's passkey stays");
      assert.equal((await call(suite.test, 'GET', '/v1/me/passkeys', { token: admin.tokens.access_token })).status, 200, "the admin's session stays");
      // The same writer may reset a plain user: the refusal above was the target's rank.
      assert.equal((await reset(writer, user.id)).status, 204);
      assert.equal((await db.selectFrom('passkeys').select('user_id').where('user_id', '=', user.id).execute()).length, 0);
    });
  });
}
