// Mail flooding and link killing through the recovery endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';

describe('recovery mail', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ env: { AUTH_RATE_LIMIT_MAX: '10000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000' } });
  });
  after(() => test.close());

  async function registeredVerified(email: string): Promise<void> {
    await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: strongPassword() } });
    await test.settle();
    await test.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: tokenFromMail(test.mails, email, /Confirm/) } });
  }

  it('no inbox can be flooded: at most 5 mails an hour to one address, whoever asks', async () => {
    const email = uniqueEmail('flood');
    await registeredVerified(email);
    const before = test.mails.filter((mail) => mail.to === email).length;
    // From a new address each time: the cap is the recipient's, not the asker's. Past it the
    // route answers 429 (keyed by the address asked for, so it says nothing about accounts).
    for (let i = 0; i < 12; i += 1) {
      const response = await test.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email }, remoteAddress: `198.51.100.${i + 1}` });
      if (i < 4) {
        assert.equal(response.statusCode, 202);
      } else {
        assert.equal(response.statusCode, 429, `request ${i + 1}`);
        assert.equal(response.json<{ code: string }>().code, 'rate_limited');
        assert.equal(response.headers['ratelimit-policy'], '"mail-recipient";q=5;w=3600');
      }
    }
    await test.settle();
    const sent = test.mails.filter((mail) => mail.to === email).length - before;
    assert.ok(sent <= 4, `${sent} reset mails went out (budget 5 including the verification mail)`);
  });

  it('a stream of reset requests cannot kill the owner\'s link; using one link kills the rest', async () => {
    const email = uniqueEmail('links');
    await registeredVerified(email);
    await test.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } });
    await test.settle();
    const owners = tokenFromMail(test.mails, email, /Reset/);
    await test.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } });
    await test.settle();
    const attackers = tokenFromMail(test.mails, email, /Reset/);
    assert.notEqual(owners, attackers);
    const used = await test.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: owners, password: strongPassword() } });
    assert.equal(used.statusCode, 204, 'the earlier link still works');
    const other = await test.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: attackers, password: strongPassword() } });
    assert.equal(other.statusCode, 400, 'once one link is used, the others are dead');
  });

  it('a bogus reset token costs no password hash', async () => {
    const hasher = test.services.auth.passwords;
    let hashes = 0;
    const original = hasher.hash.bind(hasher);
    hasher.hash = async (password: string): Promise<string> => {
      hashes += 1;
      return original(password);
    };
    try {
      for (let i = 0; i < 5; i += 1) {
        const response = await test.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: `x${i}`.padEnd(43, 'y'), password: strongPassword() } });
        assert.equal(response.statusCode, 400);
      }
      assert.equal(hashes, 0);
    } finally {
      hasher.hash = original;
    }
  });
});
