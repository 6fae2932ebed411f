// Attacks on the second step of a login: skipping it, replaying a code (also in
// parallel), guessing codes, reusing or stretching an mfa_token, carrying it to another
// account, and reading MFA state off the password step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { createUser } from '../../../test/security/authz.fixtures.ts';
import { sampleSum } from '../../../test/helpers/metrics.ts';
import { problemCode } from '../../../test/security/security.fixtures.ts';
import { MFA_TOKEN_MAX_ATTEMPTS, MFA_TOKEN_TTL_SECONDS } from './challenges.ts';
import { codeNow, enrolledAccount, mfaAppPerSuite, mfaToken, passwordStep, secondStep } from './mfa.fixtures.ts';

const THRESHOLD = 5;

for (const engine of testEngines()) {
  describe(`second-factor login attacks on ${engine.engine}`, () => {
    const suite = mfaAppPerSuite(engine, { LOCKOUT_THRESHOLD: String(THRESHOLD) });

    // One after another: parallel password steps would meet the password lockout's
    // reservations, which is not what these tests are about.
    async function sequentialTokens(account: { email: string; password: string }): Promise<string[]> {
      const tokens: string[] = [];
      for (let n = 0; n < 20; n += 1) tokens.push(await mfaToken(suite.test, account));
      return tokens;
    }

    it('a correct password alone never yields tokens for an account with a second factor', async () => {
      const account = await enrolledAccount(suite);
      const first = await passwordStep(suite.test, account);
      assert.equal(first.status, 200);
      assert.equal(first.body.mfa_required, true);
      assert.deepEqual(first.body.methods, ['totp', 'recovery_code']);
      for (const field of ['access_token', 'refresh_token', 'session_id', 'device_token'] as const) assert.equal(first.body[field], undefined, field);
      const sessions = await suite.test.services.auth.db.selectFrom('sessions').select('id').where('user_id', '=', account.id).execute();
      assert.equal(sessions.length, 1, 'only the enrolment session exists');
    });

    it('completes with a TOTP code: the session and the access token say pwd, otp and mfa', async () => {
      const account = await enrolledAccount(suite);
      const done = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const claims = JSON.parse(Buffer.from(done.body.access_token!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(claims['amr'], ['mfa', 'otp', 'pwd']);
      assert.equal(claims['auth_time'], Math.floor(suite.time.clock().getTime() / 1000));
      assert.match(done.body.device_token!, /^ghd_/);
      assert.ok(sampleSum(await suite.test.services.metrics.registry.metrics(), 'gatehouse_auth_second_factor_total', { method: 'totp', outcome: 'succeeded' }) >= 1);
    });

    it('an mfa_token is single use: after its login succeeds, it opens nothing more', async () => {
      const account = await enrolledAccount(suite);
      const token = await mfaToken(suite.test, account);
      assert.equal((await secondStep(suite.test, { mfa_token: token, code: codeNow(account.secret, suite.time) })).status, 200);
      suite.time.advanceSeconds(30);
      const again = await secondStep(suite.test, { mfa_token: token, code: codeNow(account.secret, suite.time) });
      assert.deepEqual([again.status, again.body.code], [401, 'invalid_token']);
    });

    it('a password change (or reset, or sign-out everywhere) voids the mfa_tokens of half-done logins', async () => {
      const account = await enrolledAccount(suite);
      const relayed = await mfaToken(suite.test, account);
      const changed = await suite.test.app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: { authorization: `Bearer ${account.tokens.access_token}` },
        payload: { current_password: account.password, new_password: `${account.password}-new` },
      });
      assert.equal(changed.statusCode, 204, changed.body);
      const late = await secondStep(suite.test, { mfa_token: relayed, code: codeNow(account.secret, suite.time) });
      assert.deepEqual([late.status, late.body.code], [401, 'invalid_token']);
    });

    it('a code sent with the password completes the login in one request; it is looked at only after a correct password', async () => {
      const account = await enrolledAccount(suite);
      const wrongPassword = await passwordStep(suite.test, account, { password: `${account.password}x`, code: codeNow(account.secret, suite.time) });
      assert.deepEqual([wrongPassword.status, wrongPassword.body.code], [401, 'invalid_credentials']);
      const wrongCode = await passwordStep(suite.test, account, { code: codeNow(account.secret, suite.time, 5) });
      assert.deepEqual([wrongCode.status, wrongCode.body.code], [401, 'invalid_mfa_code']);
      const done = await passwordStep(suite.test, account, { code: codeNow(account.secret, suite.time) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const claims = JSON.parse(Buffer.from(done.body.access_token!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(claims['amr'], ['mfa', 'otp', 'pwd']);
      const replay = await passwordStep(suite.test, account, { code: codeNow(account.secret, suite.time) });
      assert.deepEqual([replay.status, replay.body.code], [401, 'invalid_mfa_code'], 'the code was taken');
      // Sent for an account without a second factor, it changes nothing.
      const plain = await createUser(suite.test, { label: 'plain-with-code' });
      const plainLogin = await passwordStep(suite.test, plain, { code: '123456' });
      assert.equal(plainLogin.status, 200);
      assert.ok(plainLogin.body.access_token !== undefined);
    });

    it('an mfa_token expires after five minutes', async () => {
      const account = await enrolledAccount(suite);
      const token = await mfaToken(suite.test, account);
      suite.time.advanceSeconds(MFA_TOKEN_TTL_SECONDS + 1);
      const late = await secondStep(suite.test, { mfa_token: token, code: codeNow(account.secret, suite.time) });
      assert.deepEqual([late.status, late.body.code], [401, 'invalid_token']);
    });

    it("an mfa_token is bound to its account: another account's valid code does not complete it", async () => {
      const victim = await enrolledAccount(suite, { label: 'victim' });
      const attacker = await enrolledAccount(suite, { label: 'attacker' });
      const token = await mfaToken(suite.test, victim);
      const crossed = await secondStep(suite.test, { mfa_token: token, code: codeNow(attacker.secret, suite.time) });
      assert.deepEqual([crossed.status, crossed.body.code], [401, 'invalid_mfa_code']);
      const crossedRecovery = await secondStep(suite.test, { mfa_token: token, recovery_code: attacker.recoveryCodes[0] });
      assert.deepEqual([crossedRecovery.status, crossedRecovery.body.code], [401, 'invalid_mfa_code']);
      // And the attacker's token does not become the victim's with the victim's code.
      const own = await mfaToken(suite.test, attacker);
      const done = await secondStep(suite.test, { mfa_token: own, code: codeNow(victim.secret, suite.time) });
      assert.equal(done.status, 401);
    });

    it('codes outside the ±1 step window are refused; the neighbouring steps are accepted', async () => {
      const account = await enrolledAccount(suite);
      for (const offset of [-3, -2, 2, 3]) {
        const refused = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time, offset) });
        assert.deepEqual([refused.status, refused.body.code], [401, 'invalid_mfa_code'], `offset ${offset}`);
      }
      await suite.test.services.auth.lockout.unlock(`mfa/${account.id}`);
      // Two steps on, so the step before now is later than the one the enrolment took.
      suite.time.advanceSeconds(60);
      const early = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time, -1) });
      assert.equal(early.status, 200, 'the previous step (clock drift)');
      const late = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time, 1) });
      assert.equal(late.status, 200, 'the next step');
    });

    it('a TOTP code is accepted once: 20 parallel logins presenting it, each with its own mfa_token, yield exactly one session', async () => {
      const account = await enrolledAccount(suite);
      const tokens = await sequentialTokens(account);
      const code = codeNow(account.secret, suite.time);
      const results = await Promise.all(tokens.map((token) => secondStep(suite.test, { mfa_token: token, code })));
      assert.equal(results.filter((result) => result.status === 200).length, 1, results.map((result) => result.status).join(','));
      assert.ok(results.every((result) => result.status === 200 || result.status === 401 || result.status === 429));
      // The same code later, still within its window, is a replay.
      await suite.test.services.auth.lockout.unlock(`mfa/${account.id}`);
      const replay = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code });
      assert.deepEqual([replay.status, replay.body.code], [401, 'invalid_mfa_code']);
    });

    it('a recovery code is single use: 20 parallel logins presenting it yield exactly one session', async () => {
      const account = await enrolledAccount(suite);
      const tokens = await sequentialTokens(account);
      const code = account.recoveryCodes[0];
      const results = await Promise.all(tokens.map((token) => secondStep(suite.test, { mfa_token: token, recovery_code: code })));
      assert.equal(results.filter((result) => result.status === 200).length, 1, results.map((result) => result.status).join(','));
      const unused = await suite.test.services.auth.db.selectFrom('mfa_recovery_codes').select('code_hash').where('user_id', '=', account.id).where('used_at', 'is', null).execute();
      assert.equal(unused.length, 9);
    });

    it('one mfa_token allows a few wrong codes, then it is spent', async () => {
      const account = await enrolledAccount(suite);
      const token = await mfaToken(suite.test, account);
      const wrong = codeNow(account.secret, suite.time) === '000000' ? '111111' : '000000';
      for (let attempt = 0; attempt < MFA_TOKEN_MAX_ATTEMPTS; attempt += 1) {
        await suite.test.services.auth.lockout.unlock(`mfa/${account.id}`);
        assert.equal((await secondStep(suite.test, { mfa_token: token, code: wrong })).body.code, 'invalid_mfa_code');
      }
      await suite.test.services.auth.lockout.unlock(`mfa/${account.id}`);
      const right = await secondStep(suite.test, { mfa_token: token, code: codeNow(account.secret, suite.time) });
      assert.deepEqual([right.status, right.body.code], [401, 'invalid_token'], 'even the right code: the token has no attempts left');
    });

    it('wrong codes lock the second step of the account: after the threshold even the right code is refused, audited, counted and mailed', async () => {
      const account = await enrolledAccount(suite);
      const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => sampleSum(await suite.test.services.metrics.registry.metrics(), name, labels);
      const [failedBefore, locksBefore] = [await metric('gatehouse_auth_second_factor_total', { method: 'totp', outcome: 'failed' }), await metric('gatehouse_auth_mfa_lockouts_total')];
      const wrong = codeNow(account.secret, suite.time) === '000000' ? '111111' : '000000';
      for (let attempt = 0; attempt < THRESHOLD; attempt += 1) {
        // A fresh mfa_token each time (each needs the password): the lockout spans tokens.
        const result = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: wrong });
        assert.equal(result.body.code, 'invalid_mfa_code');
      }
      const locked = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: codeNow(account.secret, suite.time) });
      assert.deepEqual([locked.status, locked.body.code], [429, 'rate_limited']);
      const events = await suite.test.services.auth.db.selectFrom('audit_events').select('action').where('target_id', '=', account.id).execute();
      assert.equal(events.filter((event) => event.action === 'auth.mfa_failed').length, THRESHOLD);
      assert.equal(events.filter((event) => event.action === 'auth.mfa_locked').length, 1);
      assert.equal(await metric('gatehouse_auth_second_factor_total', { method: 'totp', outcome: 'failed' }), failedBefore + THRESHOLD);
      assert.equal(await metric('gatehouse_auth_mfa_lockouts_total'), locksBefore + 1);
      await suite.test.settle();
      assert.ok(suite.test.mails.some((mail) => mail.to === account.email && /second-factor codes/.test(mail.subject)), 'the owner learns their password is known');
      // The password step itself is not locked: the guesser had the right password.
      assert.equal((await passwordStep(suite.test, account)).status, 200);
    });

    it('the password step reveals nothing about MFA: unknown email, wrong password with and without MFA look alike', async () => {
      const withMfa = await enrolledAccount(suite);
      const without = await createUser(suite.test, { label: 'plain' });
      const answers = await Promise.all([
        passwordStep(suite.test, { email: `nobody-${withMfa.email}`, password: withMfa.password }),
        passwordStep(suite.test, { email: withMfa.email, password: `${withMfa.password}x` }),
        passwordStep(suite.test, { email: without.email, password: `${without.password}x` }),
      ]);
      for (const answer of answers) {
        assert.equal(answer.status, 401);
        assert.equal(answer.body.code, 'invalid_credentials');
        assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'request_id', 'status', 'title', 'type']);
      }
    });

    it('a recovery code login is audited and mailed to the owner, with the count left', async () => {
      const account = await enrolledAccount(suite);
      const done = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), recovery_code: account.recoveryCodes[1]!.toUpperCase() });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const event = await suite.test.services.auth.db.selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', account.id).where('action', '=', 'mfa.recovery_code_used').executeTakeFirst();
      assert.ok(event !== undefined);
      await suite.test.settle();
      assert.ok(suite.test.mails.some((mail) => mail.to === account.email && /recovery code was used/.test(mail.subject) && /9 unused/.test(mail.text)));
    });

    it('several proofs in one request are refused, not tried in turn', async () => {
      const account = await enrolledAccount(suite);
      const both = await secondStep(suite.test, { mfa_token: await mfaToken(suite.test, account), code: '000000', recovery_code: account.recoveryCodes[2] });
      assert.deepEqual([both.status, problemCode({ text: JSON.stringify(both.body) })], [400, 'invalid_request']);
    });
  });
}
