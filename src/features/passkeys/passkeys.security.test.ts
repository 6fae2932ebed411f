// Attacks on passkeys, each built from a valid response by changing what an attacker
// controls: phishing origins and RP IDs, replayed and foreign challenges, expired ones,
// cloned authenticators (counter regression, also raced), another account's credential,
// a missing user verification, a forged signature, a hijacked credential id. Every
// refusal is a result with a reason, never an exception (hostile input of every shape:
// passkeys-input.security.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { authenticator, enrolled, newUser, testPasskeys } from './passkeys.fixtures.ts';
import { encodedUserHandleOf } from './user-handle.ts';

const PHISHING_ORIGIN = 'https://id.example-login.test';

for (const engine of testEngines()) {
  describe(`passkey attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('a registration made at a phishing origin, or for another RP ID, is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const userId = await newUser(db);
      const device = authenticator();
      const atPhisher = await passkeys.verifyRegistration(db, { userId, response: device.register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { origin: PHISHING_ORIGIN }) });
      assert.deepEqual(atPhisher, { ok: false, reason: 'origin' });
      const otherRP = await passkeys.verifyRegistration(db, { userId, response: device.register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { rpId: 'example-login.test' }) });
      assert.deepEqual(otherRP, { ok: false, reason: 'rp_id' });
      const framed = await passkeys.verifyRegistration(db, { userId, response: device.register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { crossOrigin: true }) });
      assert.deepEqual(framed, { ok: false, reason: 'origin' });
      assert.deepEqual(await passkeys.list(userId), []);
    });

    it('an assertion made at a phishing origin, or for another RP ID, is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const atPhisher = await passkeys.verifySecondFactor(db, { userId, response: device.authenticate((await passkeys.secondFactorOptions(userId))!, { origin: PHISHING_ORIGIN }) });
      assert.deepEqual(atPhisher, { ok: false, reason: 'origin' });
      const otherRP = await passkeys.verifyPasswordless(db, { response: device.authenticate(await passkeys.passwordlessOptions(), { rpId: 'example-login.test' }) });
      assert.deepEqual(otherRP, { ok: false, reason: 'rp_id' });
    });

    it('a replayed registration is refused: its challenge was spent', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const userId = await newUser(db);
      const device = authenticator();
      const options = await passkeys.registrationOptions({ id: userId, name: 'a' });
      assert.equal((await passkeys.verifyRegistration(db, { userId, response: device.register(options) })).ok, true);
      const again = await passkeys.verifyRegistration(db, { userId, response: device.register(options) });
      assert.deepEqual(again, { ok: false, reason: 'challenge' });
    });

    it('a replayed assertion is refused, and so is a fresh one on a spent challenge', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const options = (await passkeys.secondFactorOptions(userId))!;
      const response = device.authenticate(options);
      assert.equal((await passkeys.verifySecondFactor(db, { userId, response })).ok, true);
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response }), { ok: false, reason: 'challenge' });
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(options) }), { ok: false, reason: 'challenge' });
    });

    it('a failed attempt spends its challenge too: no second try on the same one', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      await enrolled(db, passkeys, device);
      const options = await passkeys.passwordlessOptions();
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: device.authenticate(options, { userVerified: false }) }), { ok: false, reason: 'user_verification' });
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: device.authenticate(options) }), { ok: false, reason: 'challenge' });
    });

    it('a challenge issued for another account, or for another ceremony, is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const victimDevice = authenticator();
      const victim = await enrolled(db, passkeys, victimDevice);
      const attacker = await newUser(db);
      // The attacker's registration answered with the victim's registration challenge.
      const victimRegistration = await passkeys.registrationOptions({ id: victim.userId, name: 'v' });
      const attackerDevice = authenticator();
      assert.deepEqual(await passkeys.verifyRegistration(db, { userId: attacker, response: attackerDevice.register(victimRegistration) }), { ok: false, reason: 'challenge' });
      // The victim's second-factor challenge answered for passwordless login, and the reverse.
      const secondFactor = (await passkeys.secondFactorOptions(victim.userId))!;
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: victimDevice.authenticate(secondFactor) }), { ok: false, reason: 'challenge' });
      const passwordless = await passkeys.passwordlessOptions();
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId: victim.userId, response: victimDevice.authenticate(passwordless) }), { ok: false, reason: 'challenge' });
      // A registration challenge answered as an assertion.
      const registration = await passkeys.registrationOptions({ id: victim.userId, name: 'v' });
      const asAssertion = victimDevice.authenticate({ ...secondFactor.options, challenge: registration.options.challenge });
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId: victim.userId, response: asAssertion }), { ok: false, reason: 'challenge' });
    });

    it('an assertion bound to one offered challenge (an MFA step) is refused for any other challenge of the account, and when none was offered', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const offered = (await passkeys.secondFactorOptions(userId))!;
      const other = (await passkeys.secondFactorOptions(userId))!;
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(other), challengeHash: offered.challengeHash }), { ok: false, reason: 'challenge' });
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(offered), challengeHash: null }), { ok: false, reason: 'challenge' });
      assert.equal((await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(offered), challengeHash: offered.challengeHash })).ok, true);
    });

    it('re-authentication takes only the account\'s own passkey, user-verified', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const attackerDevice = authenticator();
      await enrolled(db, passkeys, attackerDevice);
      const noUV = device.authenticate((await passkeys.reauthenticationOptions(userId))!, { userVerified: false });
      assert.deepEqual(await passkeys.verifyReauthentication(db, { userId, response: noUV }), { ok: false, reason: 'user_verification' });
      const foreign = attackerDevice.authenticate((await passkeys.reauthenticationOptions(userId))!, { credential: attackerDevice.credentials[0]! });
      assert.deepEqual(await passkeys.verifyReauthentication(db, { userId, response: foreign }), { ok: false, reason: 'wrong_user' });
    });

    it('an expired challenge is refused (5 minutes)', async () => {
      const db = database().db;
      const { passkeys, advance } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const options = (await passkeys.secondFactorOptions(userId))!;
      const registration = await passkeys.registrationOptions({ id: userId, name: 'a' });
      advance(5 * 60 * 1000 + 1);
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(options) }), { ok: false, reason: 'challenge' });
      assert.deepEqual(await passkeys.verifyRegistration(db, { userId, response: authenticator().register(registration) }), { ok: false, reason: 'challenge' });
    });

    it('a cloned authenticator is caught: a counter that does not rise is refused, reported as counter_regression, and changes nothing', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId, passkeyId } = await enrolled(db, passkeys, device);
      assert.equal((await passkeys.verifySecondFactor(db, { userId, response: device.authenticate((await passkeys.secondFactorOptions(userId))!, { counter: 10 }) })).ok, true);
      for (const counter of [10, 9, 0]) {
        const result = await passkeys.verifySecondFactor(db, { userId, response: device.authenticate((await passkeys.secondFactorOptions(userId))!, { counter }) });
        assert.deepEqual(result, { ok: false, reason: 'counter_regression', userId, passkeyId }, `counter ${counter}`);
      }
      const row = await db.selectFrom('passkeys').select('sign_count').where('id', '=', passkeyId).executeTakeFirstOrThrow();
      assert.equal(row.sign_count, 10);
      assert.equal((await passkeys.verifySecondFactor(db, { userId, response: device.authenticate((await passkeys.secondFactorOptions(userId))!, { counter: 11 }) })).ok, true);
    });

    it('two parallel assertions with the same counter: exactly one succeeds, the other is a counter regression', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      for (let round = 1; round <= 3; round++) {
        const responses = await Promise.all([0, 1, 2, 3].map(async () => device.authenticate((await passkeys.secondFactorOptions(userId))!, { counter: round * 5 })));
        const results = await Promise.all(responses.map((response) => db.transaction().execute((trx) => passkeys.verifySecondFactor(trx, { userId, response }))));
        assert.equal(results.filter((result) => result.ok).length, 1, `round ${round}`);
        assert.deepEqual(new Set(results.filter((result) => !result.ok).map((result) => result.reason)), new Set(['counter_regression']));
      }
    });

    it('another account\'s passkey is no second factor for this one', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const attackerDevice = authenticator();
      await enrolled(db, passkeys, attackerDevice);
      const victim = await enrolled(db, passkeys, authenticator());
      const options = (await passkeys.secondFactorOptions(victim.userId))!;
      const response = attackerDevice.authenticate(options, { credential: attackerDevice.credentials[0]! });
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId: victim.userId, response }), { ok: false, reason: 'wrong_user' });
    });

    it('passwordless: a user handle that is not the credential owner\'s, or none, is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      await enrolled(db, passkeys, device);
      const victim = await newUser(db);
      const claimed = device.authenticate(await passkeys.passwordlessOptions(), { userHandle: encodedUserHandleOf(victim) });
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: claimed }), { ok: false, reason: 'wrong_user' });
      const none = device.authenticate(await passkeys.passwordlessOptions(), { userHandle: null });
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: none }), { ok: false, reason: 'wrong_user' });
    });

    it('passwordless without user verification is refused (the passkey would be the only factor); without presence, any assertion is', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: device.authenticate(await passkeys.passwordlessOptions(), { userVerified: false }) }), { ok: false, reason: 'user_verification' });
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: device.authenticate((await passkeys.secondFactorOptions(userId))!, { userPresent: false }) }), { ok: false, reason: 'user_verification' });
      const noUV = await passkeys.verifyRegistration(db, { userId, response: authenticator().register(await passkeys.registrationOptions({ id: userId, name: 'a' }), { userVerified: false }) });
      assert.deepEqual(noUV, { ok: false, reason: 'user_verification' }, 'and a passkey that cannot verify its user is not registered');
    });

    it('a signature by another key, or over altered data, is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const other = authenticator();
      await enrolled(db, passkeys, other);
      // Signed by the other credential's key, presented under this credential's id.
      const forged = other.authenticate((await passkeys.secondFactorOptions(userId))!, { credential: other.credentials[0]! });
      const asMine = { ...forged, id: device.credentials[0]!.id, rawId: device.credentials[0]!.id, response: { ...forged.response, userHandle: encodedUserHandleOf(userId) } };
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: asMine }), { ok: false, reason: 'bad_signature' });
      // A valid assertion whose counter was raised after signing.
      const genuine = device.authenticate((await passkeys.secondFactorOptions(userId))!);
      const data = Buffer.from(genuine.response.authenticatorData, 'base64url');
      data.writeUInt32BE(1000, 33);
      const altered = { ...genuine, response: { ...genuine.response, authenticatorData: data.toString('base64url') } };
      assert.deepEqual(await passkeys.verifySecondFactor(db, { userId, response: altered }), { ok: false, reason: 'bad_signature' });
    });

    it('an unknown credential id is refused', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId, passkeyId } = await enrolled(db, passkeys, device);
      assert.equal(await passkeys.remove(db, { userId, passkeyId }), true);
      assert.deepEqual(await passkeys.verifyPasswordless(db, { response: device.authenticate(await passkeys.passwordlessOptions()) }), { ok: false, reason: 'unknown_credential' });
    });

    it('a credential id registered to one account cannot be registered again, to it or to another (credential hijack)', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const victim = await enrolled(db, passkeys, device);
      const attacker = await newUser(db);
      const victimCredential = device.credentials[0]!.id;
      // The attacker's own key, under the victim's credential id.
      const hijacked = authenticator().register(await passkeys.registrationOptions({ id: attacker, name: 'x' }), { credentialId: victimCredential });
      assert.deepEqual(await passkeys.verifyRegistration(db, { userId: attacker, response: hijacked }), { ok: false, reason: 'already_registered' });
      const again = device.register(await passkeys.registrationOptions({ id: victim.userId, name: 'v' }), { credentialId: victimCredential });
      assert.deepEqual(await passkeys.verifyRegistration(db, { userId: victim.userId, response: again }), { ok: false, reason: 'already_registered' });
      assert.equal((await passkeys.list(attacker)).length, 0);
    });

    it('another account\'s passkey cannot be renamed or deleted', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const victim = await enrolled(db, passkeys, authenticator());
      const attacker = await newUser(db);
      assert.equal(await passkeys.rename(db, { userId: attacker, passkeyId: victim.passkeyId, name: 'mine now' }), false);
      assert.equal(await passkeys.remove(db, { userId: attacker, passkeyId: victim.passkeyId }), false);
      assert.equal(await passkeys.remove(db, { userId: attacker, passkeyId: 'not-a-uuid' }), false);
      assert.deepEqual((await passkeys.list(victim.userId)).map((item) => item.name), ['Passkey']);
    });

  });
}
