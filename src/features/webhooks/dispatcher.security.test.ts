// What a hostile or broken receiver, or a race between instances, could do to delivery.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { before, beforeEach, describe, it } from 'node:test';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging.ts';
import { createSecurityWebhooks } from './service.ts';
import { settlePendingWebhooks, startReceiver, webhookRig, webhookRows } from './webhooks.fixtures.ts';

for (const engine of testEngines()) {
  describe(`webhook delivery attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });
    beforeEach(() => settlePendingWebhooks(db));

    it('a receiver cannot bounce signed events elsewhere: redirects are not followed', async () => {
      const receiver = await startReceiver();
      const elsewhere = await startReceiver();
      try {
        receiver.reply({ redirect: elsewhere.url }, { redirect: elsewhere.url });
        const rig = webhookRig(db, { urls: [receiver.url], clock: manualClock().clock });
        const eventId = await rig.recordLock();
        await rig.runner.runDue();
        await receiver.waitFor(1);
        assert.equal(elsewhere.received.length, 0);
        const row = (await webhookRows(db, { eventId }))[0]!;
        assert.equal(row.last_error, 'http_302', 'a redirect is a failure, not a delivery');
        assert.equal(row.delivered_at, null);
      } finally {
        await receiver.close();
        await elsewhere.close();
      }
    });

    it('the signing secret and the token in a receiver URL never reach the logs or the table', async () => {
      const receiver = await startReceiver({ path: '/hooks/PATHTOKEN0123?key=QUERYTOKEN0123' });
      try {
        const time = manualClock();
        const rig = webhookRig(db, { urls: [receiver.url], clock: time.clock });
        receiver.reply(500);
        const eventId = await rig.recordLock();
        await rig.runner.runDue();
        time.advanceSeconds(60);
        await rig.runner.runDue();
        await receiver.waitFor(2);
        const logs = rig.logs.join('\n');
        assert.match(logs, /webhook delivery failed; will retry/);
        assert.match(logs, /webhook delivered/);
        for (const secret of [rig.secret, 'PATHTOKEN0123', 'QUERYTOKEN0123']) assert.equal(logs.includes(secret), false, secret);
        const [row] = await db.selectFrom('jobs').selectAll().where('dedupe_key', 'like', `${eventId}:%`).execute();
        assert.equal(JSON.stringify(row).includes(rig.secret), false);
      } finally {
        await receiver.close();
      }
    });

    it('a receiver streaming an endless body cannot hold the dispatcher or fill its memory', async () => {
      const receiver = await startReceiver();
      try {
        receiver.reply('stream');
        const rig = webhookRig(db, { urls: [receiver.url], clock: manualClock().clock, tuning: { timeoutMs: 5_000 } });
        const eventId = await rig.recordLock();
        const started = performance.now();
        await rig.runner.runDue();
        assert.ok(performance.now() - started < 2_000, 'settled on the status, without reading the body');
        const row = (await webhookRows(db, { eventId }))[0]!;
        assert.notEqual(row.delivered_at, null);
      } finally {
        await receiver.close();
      }
    });

    it('two instances polling one outbox send each event exactly once', async () => {
      const receiver = await startReceiver();
      try {
        const time = manualClock();
        const first = webhookRig(db, { urls: [receiver.url], clock: time.clock, tuning: { batchSize: 3 } });
        const second = webhookRig(db, { urls: [receiver.url], clock: time.clock, tuning: { batchSize: 3 }, secret: first.secret });
        const ids = [];
        for (let n = 0; n < 15; n++) ids.push(await first.recordLock());
        await Promise.all([first.runner.runDue(), second.runner.runDue(), first.runner.runDue(), second.runner.runDue()]);
        await first.runner.runDue();
        const received = receiver.received.map((request) => request.headers['gatehouse-event-id']);
        assert.equal(received.length, 15);
        assert.deepEqual(new Set(received), new Set(ids));
      } finally {
        await receiver.close();
      }
    });

    it('a receiver listed twice gets each event once, and the audited change still commits', async () => {
      const receiver = await startReceiver();
      try {
        const rig = webhookRig(db, { urls: [receiver.url, receiver.url], clock: manualClock().clock });
        const eventId = await rig.recordLock();
        await rig.runner.runDue();
        assert.deepEqual(receiver.received.map((request) => request.headers['gatehouse-event-id']), [eventId]);
      } finally {
        await receiver.close();
      }
    });

    it('the event of a change that rolls back is never sent, even when the dispatcher wakes before the rollback', async () => {
      const receiver = await startReceiver();
      const rig = webhookRig(db, { urls: [receiver.url], clock: manualClock().clock });
      rig.runner.start();
      try {
        await assert.rejects(
          db.transaction().execute(async (trx) => {
            await rig.auditor.record(trx, { ip: null, userAgent: null, requestId: null }, {
              actor: { type: 'system' },
              action: 'auth.locked',
              target: { type: 'user', id: randomUUID() },
              outcome: 'success',
            });
            // The wake timer (20 ms) fires while the change is still open.
            await delay(300);
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        await delay(300);
        assert.deepEqual(receiver.received, [], 'an alert for a change that never happened');
      } finally {
        await rig.runner.stop();
        await receiver.close();
      }
    });

    it('an unsigned event is never sent: without a secret there is no dispatcher at all', async () => {
      const log = createLogger({ level: 'silent' });
      assert.equal(createSecurityWebhooks({ clock: () => new Date(), log, config: { urls: ['http://127.0.0.1:9/x'], secret: null, previousSecret: null, includeIp: false } }), null);
    });
  });
}
