import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../../core/db/database.ts';
import { verifyWebhookSignature } from './signature.ts';
import { settlePendingWebhooks, startReceiver, webhookRig, webhookRows, type Receiver, type WebhookRow } from './webhooks.fixtures.ts';

async function rowOf(db: DB, eventId: string): Promise<WebhookRow> {
  const [row] = await webhookRows(db, { eventId });
  if (row === undefined) throw new Error(`no webhook job for ${eventId}`);
  return row;
}

for (const engine of testEngines()) {
  describe(`webhook dispatcher on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });
    beforeEach(() => settlePendingWebhooks(db));

    async function withReceiver(fn: (receiver: Receiver) => Promise<void>): Promise<void> {
      const own = await startReceiver();
      try {
        await fn(own);
      } finally {
        await own.close();
      }
    }

    it('posts the event as signed JSON with its id, and records the delivery', async () => {
      await withReceiver(async (receiver) => {
        const time = manualClock();
        const rig = webhookRig(db, { urls: [receiver.url], clock: time.clock });
        const eventId = await rig.recordLock();
        assert.equal(await rig.runner.runDue(), 1);
        const [request] = await receiver.waitFor(1);
        assert.equal(request!.headers['content-type'], 'application/json');
        assert.equal(request!.headers['gatehouse-event-id'], eventId);
        assert.equal(request!.headers['gatehouse-event-type'], 'auth.locked');
        assert.match(request!.headers['user-agent'] ?? '', /^Gatehouse-Webhooks\//);
        const signature = request!.headers['gatehouse-signature'];
        assert.equal(verifyWebhookSignature(rig.secret, typeof signature === 'string' ? signature : null, request!.body, { toleranceSeconds: 300, now: time.clock() }), true);
        assert.equal((JSON.parse(request!.body) as Record<string, unknown>)['id'], eventId);
        const row = await rowOf(db, eventId);
        assert.deepEqual(row.delivered_at, time.clock());
        assert.equal(row.attempts, 1);
        assert.equal(await rig.runner.runDue(), 0, 'delivered once');
      });
    });

    it('a 500 is retried after the backoff, with the same body and a fresh signature', async () => {
      await withReceiver(async (receiver) => {
        const time = manualClock();
        const rig = webhookRig(db, { urls: [receiver.url], clock: time.clock });
        receiver.reply(500);
        const eventId = await rig.recordLock();
        await rig.runner.runDue();
        const failed = await rowOf(db, eventId);
        assert.equal(failed.last_error, 'http_500');
        assert.deepEqual(rig.failures, [{ eventType: 'auth.locked', error: 'http_500', attempt: 1, final: false }]);
        const wait = failed.next_attempt_at.getTime() - time.clock().getTime();
        assert.ok(wait >= 30_000 && wait <= 36_000, `first retry after 30 s plus jitter, not ${wait} ms`);

        time.advanceMs(wait - 1);
        assert.equal(await rig.runner.runDue(), 0, 'not before its time');
        time.advanceSeconds(2);
        assert.equal(await rig.runner.runDue(), 1);
        const [first, second] = await receiver.waitFor(2);
        assert.equal(second!.body, first!.body);
        assert.equal(second!.headers['gatehouse-event-id'], eventId);
        assert.notEqual(second!.headers['gatehouse-signature'], first!.headers['gatehouse-signature']);
        const delivered = await rowOf(db, eventId);
        assert.equal(delivered.attempts, 2);
        assert.equal(delivered.last_error, null);
        assert.notEqual(delivered.delivered_at, null);
      });
    });

    it('gives up after the last attempt and reports that failure as final', async () => {
      await withReceiver(async (receiver) => {
        const time = manualClock();
        const rig = webhookRig(db, { urls: [receiver.url], clock: time.clock, tuning: { retry: { baseDelayMs: 1_000, maxDelayMs: 1_000, maxAttempts: 3, jitter: 0 } } });
        receiver.reply(503, 503, 503, 503);
        const eventId = await rig.recordLock();
        for (let attempt = 0; attempt < 5; attempt++) {
          await rig.runner.runDue();
          time.advanceSeconds(1);
        }
        assert.equal(receiver.received.length, 3);
        const row = await rowOf(db, eventId);
        assert.notEqual(row.failed_at, null);
        assert.equal(row.last_error, 'http_503');
        assert.deepEqual(rig.failures.map((failure) => failure.final), [false, false, true]);
        assert.ok(rig.logs.some((line) => line.includes('webhook delivery failed for good')));
      });
    });

    it('a receiver that does not answer times out; one that is down is a network error', async () => {
      await withReceiver(async (receiver) => {
        const time = manualClock();
        receiver.reply('hang');
        const down = await startReceiver();
        await down.close();
        const rig = webhookRig(db, { urls: [receiver.url, down.url], clock: time.clock, tuning: { timeoutMs: 200 } });
        const eventId = await rig.recordLock();
        await rig.runner.runDue();
        const rows = await webhookRows(db, { eventId, urls: [receiver.url, down.url] });
        const errors = new Map(rows.map((row) => [row.url, row.last_error]));
        assert.equal(errors.get(receiver.url), 'timeout');
        assert.equal(errors.get(down.url), 'network_ECONNREFUSED');
      });
    });

    it('once started, an enqueue wakes it: the event arrives without waiting for the poll', async () => {
      await withReceiver(async (receiver) => {
        const rig = webhookRig(db, { urls: [receiver.url], clock: manualClock().clock, tuning: { pollIntervalMs: 60_000 } });
        rig.runner.start();
        try {
          // Past the first round, which runs at start; the next poll is a minute away.
          await new Promise((resolve) => setTimeout(resolve, 50));
          const eventId = await rig.recordLock();
          const [request] = await receiver.waitFor(1, 3_000);
          assert.equal(request!.headers['gatehouse-event-id'], eventId);
        } finally {
          await rig.runner.stop();
        }
      });
    });

    it('stopping abandons a delivery in flight: it is given back uncounted and the next instance sends it', async () => {
      await withReceiver(async (receiver) => {
        const time = manualClock();
        const first = webhookRig(db, { urls: [receiver.url], clock: time.clock });
        receiver.reply('hang');
        first.runner.start();
        const eventId = await first.recordLock();
        await receiver.waitFor(1);
        await first.runner.stop();
        const released = await rowOf(db, eventId);
        assert.equal(released.attempts, 0);
        assert.equal(released.delivered_at, null);
        assert.ok(released.next_attempt_at.getTime() <= time.clock().getTime(), 'due at once');
        assert.deepEqual(first.failures, [], 'our shutdown is not the receiver failing');

        const second = webhookRig(db, { urls: [receiver.url], clock: time.clock, secret: first.secret });
        await second.runner.runDue();
        const requests = await receiver.waitFor(2);
        assert.equal(requests[1]!.headers['gatehouse-event-id'], eventId);
        assert.notEqual((await rowOf(db, eventId)).delivered_at, null);
      });
    });
  });
}
