// Rotating SECURITY_WEBHOOK_SECRET with an overlap, as Stripe does: while
// SECURITY_WEBHOOK_SECRET_PREVIOUS is set, each delivery carries `v1=<new>,v1=<old>`, so a
// receiver verifies with whichever secret it holds and switches when it is ready; once the
// previous secret is removed, only the new one verifies. Deliveries go through the real
// observer, job runner and handler (webhookRig) to a real HTTP receiver.
import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../../core/db/database.ts';
import { signWebhook, verifyWebhookSignature } from './signature.ts';
import { settlePendingWebhooks, startReceiver, testWebhookSecret, webhookRig, type ReceivedWebhook, type Receiver } from './webhooks.fixtures.ts';

function signatureOf(request: ReceivedWebhook): string | null {
  const header = request.headers['gatehouse-signature'];
  return typeof header === 'string' ? header : null;
}

function verifiesWith(secret: string, request: ReceivedWebhook, now: Date): boolean {
  return verifyWebhookSignature(secret, signatureOf(request), request.body, { toleranceSeconds: 300, now });
}

describe('webhook signature while rotating the secret', () => {
  it('is t=<seconds>,v1=<under the new secret>,v1=<under the previous one>, new first', () => {
    const [next, previous] = [testWebhookSecret(), testWebhookSecret()];
    const now = new Date('2030-01-02T03:04:05Z');
    const body = '{"id":"x"}';
    const [t, ...signatures] = signWebhook(next, body, now, { previousSecret: previous }).split(',');
    assert.equal(`${t},${signatures[0]}`, signWebhook(next, body, now));
    assert.equal(`${t},${signatures[1]}`, signWebhook(previous, body, now));
    assert.equal(signatures.length, 2);
    assert.equal(signWebhook(next, body, now, { previousSecret: null }), signWebhook(next, body, now));
  });
});

for (const engine of testEngines()) {
  describe(`rotating the webhook secret on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    let receiver: Receiver;
    before(() => {
      db = database().db;
    });
    beforeEach(() => settlePendingWebhooks(db));

    async function withReceiver(fn: () => Promise<void>): Promise<void> {
      receiver = await startReceiver();
      try {
        await fn();
      } finally {
        await receiver.close();
      }
    }

    it('while both are set, a delivery verifies with either secret; never with another', async () => {
      await withReceiver(async () => {
        const time = manualClock();
        const [next, previous] = [testWebhookSecret(), testWebhookSecret()];
        const rig = webhookRig(db, { urls: [receiver.url], clock: time.clock, secret: next, previousSecret: previous });
        await rig.recordLock();
        assert.equal(await rig.runner.runDue(), 1);
        const [request] = await receiver.waitFor(1);
        assert.ok(request !== undefined);
        assert.equal(signatureOf(request)?.match(/v1=/g)?.length, 2);
        assert.equal(verifiesWith(next, request, time.clock()), true, 'a receiver that switched already');
        assert.equal(verifiesWith(previous, request, time.clock()), true, 'a receiver that has not switched yet');
        assert.equal(verifiesWith(testWebhookSecret(), request, time.clock()), false);
      });
    });

    it('once the previous secret is removed, only the new one verifies, events queued during the window too', async () => {
      await withReceiver(async () => {
        const time = manualClock();
        const [next, previous] = [testWebhookSecret(), testWebhookSecret()];
        // Queued by an instance still in the window, delivered by one restarted without
        // SECURITY_WEBHOOK_SECRET_PREVIOUS: the signature is made at delivery, by the sender's settings.
        const during = webhookRig(db, { urls: [receiver.url], clock: time.clock, secret: next, previousSecret: previous });
        const after = webhookRig(db, { urls: [receiver.url], clock: time.clock, secret: next });
        await during.recordLock();
        await after.recordLock();
        assert.equal(await after.runner.runDue(), 2);
        const requests = await receiver.waitFor(2);
        for (const request of requests) {
          assert.equal(signatureOf(request)?.match(/v1=/g)?.length, 1);
          assert.equal(verifiesWith(next, request, time.clock()), true);
          assert.equal(verifiesWith(previous, request, time.clock()), false);
        }
      });
    });
  });
}
