// What a forger or a replayer of webhooks can try against a receiver that verifies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { signWebhook, verifyWebhookSignature } from './signature.ts';
import { testWebhookSecret } from './webhooks.fixtures.ts';

const NOW = new Date('2030-01-02T03:04:05Z');
const BODY = '{"id":"0192","type":"auth.locked","actor":{"type":"system","id":null}}';
const OPTIONS = { toleranceSeconds: 300, now: NOW };

describe('webhook signature attacks', () => {
  it('a tampered body fails, even by one character', () => {
    const secret = testWebhookSecret();
    const header = signWebhook(secret, BODY, NOW);
    assert.equal(verifyWebhookSignature(secret, header, BODY.replace('auth.locked', 'auth.lockeD'), OPTIONS), false);
    assert.equal(verifyWebhookSignature(secret, header, `${BODY} `, OPTIONS), false);
  });

  it('a signature made with another secret fails', () => {
    const header = signWebhook(testWebhookSecret(), BODY, NOW);
    assert.equal(verifyWebhookSignature(testWebhookSecret(), header, BODY, OPTIONS), false);
  });

  it('a captured delivery replayed after the tolerance fails (and one dated in the future)', () => {
    const secret = testWebhookSecret();
    const header = signWebhook(secret, BODY, NOW);
    assert.equal(verifyWebhookSignature(secret, header, BODY, { toleranceSeconds: 300, now: new Date(NOW.getTime() + 301_000) }), false);
    assert.equal(verifyWebhookSignature(secret, header, BODY, { toleranceSeconds: 300, now: new Date(NOW.getTime() - 301_000) }), false);
  });

  it('a replayer cannot refresh the timestamp: t is inside the MAC', () => {
    const secret = testWebhookSecret();
    const old = signWebhook(secret, BODY, new Date(NOW.getTime() - 3_600_000));
    const refreshed = old.replace(/^t=\d+/, `t=${Math.floor(NOW.getTime() / 1000)}`);
    assert.equal(verifyWebhookSignature(secret, refreshed, BODY, OPTIONS), false);
  });

  it('a header without t, without v1, with two t or with a short digest fails', () => {
    const secret = testWebhookSecret();
    const [t, v1] = signWebhook(secret, BODY, NOW).split(',') as [string, string];
    for (const header of [v1, t, `${t},${t},${v1}`, `${t},${v1.slice(0, -2)}`, `${t},v1=${'0'.repeat(64)}`, '', `${t};${v1}`, `${t},${v1.toUpperCase()}`]) {
      assert.equal(verifyWebhookSignature(secret, header, BODY, OPTIONS), false, header);
    }
    assert.equal(verifyWebhookSignature(secret, null, BODY, OPTIONS), false);
    assert.equal(verifyWebhookSignature(secret, undefined, BODY, OPTIONS), false);
  });

  it('an oversized header is refused without parsing it', () => {
    const secret = testWebhookSecret();
    const header = `${signWebhook(secret, BODY, NOW)},${'x=y,'.repeat(300)}`;
    assert.equal(verifyWebhookSignature(secret, header, BODY, OPTIONS), false);
  });

  it('random headers never throw and never verify', () => {
    const secret = testWebhookSecret();
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 100 }), (header, body) => {
        assert.equal(verifyWebhookSignature(secret, header, body, OPTIONS), false);
      }),
      { numRuns: 500 },
    );
  });
});
