import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signWebhook, verifyWebhookSignature } from './signature.ts';
import { testWebhookSecret } from './webhooks.fixtures.ts';

const NOW = new Date('2030-01-02T03:04:05.678Z');
const BODY = '{"id":"0192","type":"auth.locked"}';

describe('webhook signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, so any language can check it', () => {
    const secret = testWebhookSecret();
    const header = signWebhook(secret, BODY, NOW);
    const t = Math.floor(NOW.getTime() / 1000);
    const expected = createHmac('sha256', secret).update(`${t}.${BODY}`).digest('hex');
    assert.equal(header, `t=${t},v1=${expected}`);
  });

  it('verifies what it signed, within the tolerance either way', () => {
    const secret = testWebhookSecret();
    const header = signWebhook(secret, BODY, NOW);
    for (const offset of [0, 299_000, -299_000]) {
      assert.equal(verifyWebhookSignature(secret, header, BODY, { toleranceSeconds: 300, now: new Date(NOW.getTime() + offset) }), true);
    }
  });

  it('accepts a header with spaces, an unknown scheme and a second v1 (a sender rotating secrets)', () => {
    const secret = testWebhookSecret();
    const mine = signWebhook(secret, BODY, NOW);
    const other = signWebhook(testWebhookSecret(), BODY, NOW).split(',')[1]!;
    const [t, v1] = mine.split(',');
    const header = `${t}, ${other}, v2=abc, ${v1}`;
    assert.equal(verifyWebhookSignature(secret, header, BODY, { toleranceSeconds: 300, now: NOW }), true);
  });

  it('signs the body byte for byte: non-ASCII text is signed as UTF-8', () => {
    const secret = testWebhookSecret();
    const body = '{"details":{"name":"Zoë ✓"}}';
    const header = signWebhook(secret, body, NOW);
    assert.equal(verifyWebhookSignature(secret, header, body, { toleranceSeconds: 300, now: NOW }), true);
    assert.equal(verifyWebhookSignature(secret, header, body.normalize('NFD'), { toleranceSeconds: 300, now: NOW }), false);
  });
});
