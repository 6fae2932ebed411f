// Passkeys as their users meet them: registration, second factor and passwordless sign-in
// with ES256 and Ed25519 credentials from a software authenticator, the account's list,
// renaming and deleting, and what the options ask of the browser.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { SoftwareAlgorithm } from '../../../test/helpers/software-authenticator.ts';
import { authenticator, enrolled, newUser, testPasskeys } from './passkeys.fixtures.ts';
import { normalizePasskeyName, relyingPartyFrom } from './index.ts';
import { encodedUserHandleOf } from './user-handle.ts';

describe('relying party from PUBLIC_URL', () => {
  it('takes the host name as RP ID and the origin as the only origin', () => {
    assert.deepEqual(relyingPartyFrom('https://id.example.com/base/path'), { id: 'id.example.com', origin: 'https://id.example.com', name: 'Gatehouse' });
    assert.deepEqual(relyingPartyFrom('http://localhost:3000', 'Dev'), { id: 'localhost', origin: 'http://localhost:3000', name: 'Dev' });
    assert.equal(relyingPartyFrom('https://id.example.com:443').origin, 'https://id.example.com');
    assert.throws(() => relyingPartyFrom('ftp://id.example.com'), RangeError);
  });
});

describe('passkey names', () => {
  it('are trimmed, NFC, 1 to 64 code points, without control characters', () => {
    assert.equal(normalizePasskeyName('  Work laptop '), 'Work laptop');
    assert.equal(normalizePasskeyName('Cafe\u0301'), 'Caf\u00e9');
    assert.equal(normalizePasskeyName('🔑'.repeat(64)), '🔑'.repeat(64));
    assert.equal(normalizePasskeyName('👩\u200D💻 laptop'), '👩\u200D💻 laptop');
    for (const bad of ['', '   ', 'a'.repeat(65), 'line\nbreak', 'bell\u0007', 'lone\uD800surrogate', 'rtl\u202Eoverride']) assert.equal(normalizePasskeyName(bad), null, JSON.stringify(bad));
  });
});

for (const engine of testEngines()) {
  describe(`passkeys on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    for (const algorithm of ['ES256', 'Ed25519'] as const satisfies readonly SoftwareAlgorithm[]) {
      it(`registers an ${algorithm} passkey, then signs in with it as second factor and passwordless`, async () => {
        const db = database().db;
        const { passkeys } = testPasskeys(db);
        const device = authenticator({ algorithm });
        const userId = await newUser(db);
        const options = await passkeys.registrationOptions({ id: userId, name: 'ada@example.test', displayName: 'Ada' });
        const registered = await passkeys.verifyRegistration(db, { userId, response: device.register(options), name: 'Laptop' });
        assert.ok(registered.ok, JSON.stringify(registered));
        assert.equal(registered.passkey.name, 'Laptop');
        assert.equal(registered.passkey.deviceType, 'singleDevice');

        const second = await passkeys.secondFactorOptions(userId);
        assert.ok(second !== null);
        const asFactor = await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(second) });
        assert.deepEqual(asFactor, { ok: true, userId, passkeyId: registered.passkey.id, amr: 'hwk', userVerified: true });

        const alone = await passkeys.verifyPasswordless(db, { response: device.authenticate(await passkeys.passwordlessOptions()) });
        assert.deepEqual(alone, { ok: true, userId, passkeyId: registered.passkey.id, amr: 'hwk', userVerified: true });

        const [listed] = await passkeys.list(userId);
        assert.equal(listed?.id, registered.passkey.id);
        assert.ok(listed.lastUsedAt !== null, 'the last use is recorded');
        const row = await db.selectFrom('passkeys').select(['sign_count', 'transports']).where('id', '=', listed.id).executeTakeFirstOrThrow();
        assert.equal(row.sign_count, 2);
        assert.deepEqual(row.transports, ['hybrid', 'internal']);
      });
    }

    it('a synced (multi-device) passkey is swk, a device-bound one hwk; both record their backup state', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const synced = authenticator({ synced: true, zeroCounter: true });
      const { userId, passkeyId } = await enrolled(db, passkeys, synced);
      const [listed] = await passkeys.list(userId);
      assert.equal(listed?.deviceType, 'multiDevice');
      assert.equal(listed.backedUp, true);
      const result = await passkeys.verifyPasswordless(db, { response: synced.authenticate(await passkeys.passwordlessOptions()) });
      assert.deepEqual(result, { ok: true, userId, passkeyId, amr: 'swk', userVerified: true });
    });

    it('an authenticator that keeps no counter (always 0) keeps working', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator({ zeroCounter: true });
      const { userId } = await enrolled(db, passkeys, device);
      for (let use = 0; use < 3; use++) {
        const options = await passkeys.secondFactorOptions(userId);
        assert.ok(options !== null);
        const result = await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(options) });
        assert.equal(result.ok, true, `use ${use}`);
      }
    });

    it('as second factor, presence is enough: UV is preferred, not required', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const options = await passkeys.secondFactorOptions(userId);
      assert.equal(options?.options.userVerification, 'preferred');
      const result = await passkeys.verifySecondFactor(db, { userId, response: device.authenticate(options, { userVerified: false }) });
      assert.ok(result.ok);
      assert.equal(result.userVerified, false);
    });

    it('re-authentication: options list the account\'s passkeys and require UV; an assertion of its own passkey with UV passes', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator({ algorithm: 'Ed25519' });
      const { userId, passkeyId } = await enrolled(db, passkeys, device);
      const offered = await passkeys.reauthenticationOptions(userId);
      assert.equal(offered?.options.userVerification, 'required');
      assert.deepEqual(offered.options.allowCredentials?.map((descriptor) => descriptor.id), [device.credentials[0]?.id]);
      const result = await passkeys.verifyReauthentication(db, { userId, response: device.authenticate(offered), challengeHash: offered.challengeHash });
      assert.deepEqual(result, { ok: true, userId, passkeyId, amr: 'hwk', userVerified: true });
      assert.equal(await passkeys.reauthenticationOptions(await newUser(db)), null);
    });

    it('registration options ask for a discoverable, user-verifying credential of the allowed algorithms and exclude the account\'s passkeys', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId } = await enrolled(db, passkeys, device);
      const { options, challengeHash } = await passkeys.registrationOptions({ id: userId, name: 'ada@example.test' });
      assert.equal(challengeHash, createHash('sha256').update(options.challenge).digest('hex'));
      assert.equal(options.rp.id, 'id.example.test');
      assert.equal(options.user.id, encodedUserHandleOf(userId));
      assert.equal(options.attestation, 'none');
      assert.deepEqual(options.pubKeyCredParams.map((param) => param.alg), [-8, -7, -257]);
      assert.equal(options.authenticatorSelection?.residentKey, 'required');
      assert.equal(options.authenticatorSelection.userVerification, 'required');
      assert.deepEqual(options.excludeCredentials?.map((descriptor) => descriptor.id), [device.credentials[0]?.id]);
      assert.equal(Buffer.from(options.challenge, 'base64url').length, 32);
    });

    it('second-factor options list only the account\'s passkeys, and are null without any; passwordless options list none and require UV', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const mine = authenticator();
      const { userId } = await enrolled(db, passkeys, mine);
      await enrolled(db, passkeys, authenticator());
      const options = await passkeys.secondFactorOptions(userId);
      assert.deepEqual(options?.options.allowCredentials?.map((descriptor) => descriptor.id), [mine.credentials[0]?.id]);
      assert.equal(await passkeys.secondFactorOptions(await newUser(db)), null);
      const { options: passwordless } = await passkeys.passwordlessOptions();
      assert.deepEqual(passwordless.allowCredentials ?? [], []);
      assert.equal(passwordless.userVerification, 'required');
    });

    it('an account lists, renames and deletes its passkeys; deleting the account deletes them', async () => {
      const db = database().db;
      const { passkeys } = testPasskeys(db);
      const device = authenticator();
      const { userId, passkeyId } = await enrolled(db, passkeys, device);
      const second = await passkeys.verifyRegistration(db, { userId, response: device.register(await passkeys.registrationOptions({ id: userId, name: 'a@example.test' })), name: 'Phone' });
      assert.ok(second.ok);
      assert.deepEqual((await passkeys.list(userId)).map((item) => item.name), ['Passkey', 'Phone']);
      assert.equal(await passkeys.rename(db, { userId, passkeyId, name: ' Laptop ' }), true);
      assert.equal(await passkeys.rename(db, { userId, passkeyId, name: '' }), false);
      assert.equal(await passkeys.remove(db, { userId, passkeyId: second.passkey.id }), true);
      assert.equal(await passkeys.remove(db, { userId, passkeyId: second.passkey.id }), false);
      assert.deepEqual((await passkeys.list(userId)).map((item) => item.name), ['Laptop']);
      await db.deleteFrom('users').where('id', '=', userId).execute();
      assert.equal((await db.selectFrom('passkeys').select('id').where('user_id', '=', userId).execute()).length, 0);
    });

    it('expired challenges are purged, live ones kept', async () => {
      const db = database().db;
      const { passkeys, advance } = testPasskeys(db);
      await passkeys.passwordlessOptions();
      advance(6 * 60 * 1000);
      const live = await passkeys.passwordlessOptions();
      assert.ok((await passkeys.purgeExpiredChallenges()) >= 1);
      const device = authenticator();
      await enrolled(db, passkeys, device);
      assert.equal((await passkeys.verifyPasswordless(db, { response: device.authenticate(live) })).ok, true, 'the live one still answers');
    });
  });
}
