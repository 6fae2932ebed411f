// The OWASP device cookie against online guessing (auth/device-tokens.ts), over the real
// login routes: a stranger's flood of wrong passwords (or, knowing the password, of wrong
// second-factor codes) locks anonymous attempts while the owner on a device they used
// before still gets in; a known device has a counter of its own; a token of another
// account, a tampered one or an old one is no device at all; and a token for an unknown
// email changes nothing in the answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEVICE_TOKEN_MAX_AGE_SECONDS } from '../../src/features/auth/device-tokens.ts';
import { codeNow, enrolledAccount, mfaAppPerSuite, mfaToken, passwordStep, secondStep, type LoginAnswer } from '../../src/features/mfa/mfa.fixtures.ts';
import { testEngines } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/http.ts';
import { createUser, type Account } from './authz.fixtures.ts';

const THRESHOLD = 3;
const DEVICE_TOKEN = /^ghd_([A-Za-z0-9_-]{22})\.([0-9]+)\.([A-Za-z0-9_-]{43})$/;

/** The device id a token names. */
function deviceOf(token: string): string {
  return DEVICE_TOKEN.exec(token)?.[1] ?? assert.fail(`not a device token: ${token}`);
}

/** `token` with one character of its part `index` (1 device id, 2 issued at, 3 MAC) changed. */
function tampered(token: string, index: 1 | 2 | 3): string {
  const parts = token.slice('ghd_'.length).split('.');
  const part = parts[index - 1]!;
  // The time's last digit: seconds off, within the allowed clock skew, so only the MAC can
  // refuse it. Otherwise the first character: every bit of it counts (the last one of a
  // base64url MAC has two spare bits, and changing those changes nothing).
  parts[index - 1] = index === 2 ? `${part.slice(0, -1)}${(Number(part.at(-1)) + 1) % 10}` : `${part.startsWith('A') ? 'B' : 'A'}${part.slice(1)}`;
  return `ghd_${parts.join('.')}`;
}

for (const engine of testEngines()) {
  describe(`device tokens against online guessing on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { LOCKOUT_THRESHOLD: String(THRESHOLD) });
    const login = (account: { email: string; password: string }, deviceToken?: string): Promise<{ status: number; body: LoginAnswer }> =>
      passwordStep(suite.test, account, deviceToken === undefined ? {} : { device_token: deviceToken });

    /** An account whose owner has logged in once, on the device the token names. */
    async function ownerOnDevice(label: string): Promise<Account & { deviceToken: string }> {
      const account = await createUser(suite.test, { label });
      const first = await login(account);
      assert.equal(first.status, 200);
      assert.match(first.body.device_token ?? '', DEVICE_TOKEN);
      return { ...account, deviceToken: first.body.device_token! };
    }

    async function guessPasswords(email: string, deviceToken?: string): Promise<void> {
      for (let attempt = 0; attempt < THRESHOLD; attempt += 1) {
        const wrong = await login({ email, password: `wrong password ${attempt}!` }, deviceToken);
        assert.deepEqual([wrong.status, wrong.body.code], [401, 'invalid_credentials'], `guess ${attempt + 1}`);
      }
    }

    function assertLocked(answer: { status: number; body: LoginAnswer }, label: string): void {
      assert.deepEqual([answer.status, answer.body.code], [429, 'rate_limited'], label);
      assert.equal(answer.body.access_token, undefined, label);
    }

    it("a stranger's flood of wrong passwords locks anonymous attempts, not the owner on a known device", async () => {
      const owner = await ownerOnDevice('flooded');
      await guessPasswords(owner.email);
      assertLocked(await login(owner), 'the right password without the device');
      const known = await login(owner, owner.deviceToken);
      assert.equal(known.status, 200, JSON.stringify(known.body));
      assert.equal(deviceOf(known.body.device_token!), deviceOf(owner.deviceToken), 'the same device, its token renewed');
      const events = await suite.test.services.auth.db.selectFrom('audit_events').select('details').where('action', '=', 'auth.login_failed').where('target_id', '=', owner.id).execute();
      assert.deepEqual(events.map((event) => event.details['known_device']), [false, false, false]);
    });

    it('a known device has a counter of its own: wrong passwords from it lock that device only', async () => {
      const owner = await ownerOnDevice('device-guess');
      await guessPasswords(owner.email, owner.deviceToken);
      assertLocked(await login(owner, owner.deviceToken), 'the right password from the locked device');
      assert.equal((await login(owner)).status, 200, 'anonymous attempts were not counted');
    });

    it("another account's device token, or one with a changed character, counts as anonymous", async () => {
      const victim = await ownerOnDevice('victim');
      const attacker = await ownerOnDevice('attacker');
      await guessPasswords(victim.email);
      assertLocked(await login(victim, attacker.deviceToken), "the attacker's own device token");
      for (const index of [1, 2, 3] as const) {
        const token = tampered(victim.deviceToken, index);
        assert.match(token, DEVICE_TOKEN);
        assert.notEqual(token, victim.deviceToken);
        assertLocked(await login(victim, token), `part ${index} changed`);
      }
      assert.equal((await login(victim, victim.deviceToken)).status, 200, 'the genuine token still is the known device');
    });

    it('with TOTP: the attacker who knows the password locks anonymous second steps; the owner on a known device completes', async () => {
      const owner = await enrolledAccount(suite, { label: 'totp-device' });
      const first = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, owner), code: codeNow(owner.secret, suite.time) });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const deviceToken = first.body.device_token!;
      suite.time.advanceSeconds(30);

      const right = codeNow(owner.secret, suite.time);
      const wrong = right === '000000' ? '111111' : '000000';
      for (let attempt = 0; attempt < THRESHOLD; attempt += 1) {
        const guess = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, owner), code: wrong });
        assert.deepEqual([guess.status, guess.body.code], [401, 'invalid_mfa_code']);
      }
      assertLocked(await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, owner), code: right }), 'the right code without the device');

      const step = await login(owner, deviceToken);
      assert.equal(step.body.mfa_required, true, 'a known device still needs the second factor');
      assert.equal(step.body.access_token, undefined);
      const done = await secondStep(suite.test, { mfa_token: step.body.mfa_token, code: right });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(deviceOf(done.body.device_token!), deviceOf(deviceToken));
    });

    it('a device token for an unknown email makes no difference to the answer', async () => {
      const stranger = await ownerOnDevice('stranger');
      const known = await createUser(suite.test, { label: 'known' });
      const nobody = uniqueEmail('nobody');
      const { blindIndex, deviceTokens } = suite.test.services.auth;
      // As if the server had issued one for that address (an account deleted since, say).
      const issued = deviceTokens.issue(blindIndex.email(nobody), suite.time.clock());
      const answers = [
        await login({ email: nobody, password: known.password }),
        await login({ email: nobody, password: known.password }, stranger.deviceToken),
        await login({ email: nobody, password: known.password }, issued),
        await login({ email: known.email, password: `${known.password}x` }),
      ];
      const [reference] = answers.map(({ status, body }) => ({ status, ...body, request_id: undefined }));
      for (const answer of answers) {
        assert.deepEqual([answer.status, answer.body.code], [401, 'invalid_credentials']);
        assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'request_id', 'status', 'title', 'type']);
        assert.deepEqual({ status: answer.status, ...answer.body, request_id: undefined }, reference);
      }
    });

    // Last: it moves the suite's clock half a year on.
    it('a device token older than 180 days counts as anonymous; the one renewed at the last login still counts', async () => {
      const owner = await ownerOnDevice('old-device');
      suite.time.advanceSeconds(DEVICE_TOKEN_MAX_AGE_SECONDS - 60);
      const renewed = await login(owner, owner.deviceToken);
      assert.equal(renewed.status, 200, 'still within its age');
      suite.time.advanceSeconds(61);
      await guessPasswords(owner.email);
      assertLocked(await login(owner, owner.deviceToken), 'a token 180 days and a second old');
      assert.equal((await login(owner, renewed.body.device_token)).status, 200, 'the renewed token, 61 seconds old');
    });
  });
}
