import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, beforeEach, describe, it } from 'node:test';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { createChainHeadCache } from '../../core/audit/append.ts';
import { generateAuditKey } from '../../core/audit/audit.fixtures.ts';
import { createAuditor, type Auditor } from '../../core/audit/auditor.ts';
import type { AuditEvent } from '../../core/audit/auditor.ts';
import type { DB } from '../../core/db/database.ts';
import {
  claimDueJobs,
  markJobDone as markWebhookDelivered,
  markJobFailed as markWebhookFailed,
  pruneJobs as pruneWebhooks,
  releaseJob as releaseWebhook,
  scheduleJobRetry as scheduleWebhookRetry,
} from '../../core/jobs/repo.ts';
import { createWebhookObserver } from './observer.ts';
import { WEBHOOK_JOB_KIND, webhookOfJob } from './outbox.ts';
import { settlePendingWebhooks, startReceiver, webhookRig, webhookRows } from './webhooks.fixtures.ts';

const NO_CONTEXT = { ip: '198.51.100.4', userAgent: null, requestId: 'req-outbox' };
const LOCKED: AuditEvent = { actor: { type: 'system' }, action: 'auth.locked', target: { type: 'user', id: 'u-1' }, outcome: 'success', details: { locked_until: null } };
const T0 = Date.UTC(2030, 0, 2, 3, 4, 5);

/** Receiver URLs unique to one test, so tests sharing the database never see each other's rows. */
function receivers(count: number): string[] {
  const run = randomUUID();
  return Array.from({ length: count }, (_, index) => `http://127.0.0.1:9/${run}/${index}`);
}

function auditorFor(urls: readonly string[], now = new Date(T0)): Auditor {
  const clock = (): Date => now;
  return createAuditor({ key: generateAuditKey(), clock, headCache: createChainHeadCache(), observers: [createWebhookObserver({ urls, clock, includeIp: true })] });
}

async function record(db: DB, auditor: Auditor, event: AuditEvent = LOCKED): Promise<void> {
  await db.transaction().execute((trx) => auditor.record(trx, NO_CONTEXT, event));
}

function rowsFor(db: DB, urls: readonly string[]) {
  return webhookRows(db, { urls });
}

const at = (ms: number): Date => new Date(T0 + ms);
// Each test starts with an empty queue (beforeEach), so the due webhook jobs are this test's.
const claim = async (db: DB, _urls: readonly string[], nowMs: number, limit = 10) =>
  (await claimDueJobs(db, { now: at(nowMs), leaseUntil: at(nowMs + 60_000), kinds: [WEBHOOK_JOB_KIND], limit })).map((job) => ({ ...job, url: webhookOfJob(job)?.url ?? '' }));

for (const engine of testEngines()) {
  describe(`webhook outbox on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });
    beforeEach(() => settlePendingWebhooks(db));

    it('writes one row per receiver, in the transaction of the audited change', async () => {
      const urls = receivers(2);
      await record(db, auditorFor(urls));
      const rows = await rowsFor(db, urls);
      assert.deepEqual(rows.map((row) => row.url), urls);
      const [first, second] = rows;
      assert.equal(first!.event_id, second!.event_id, 'one event id for every receiver');
      assert.equal(first!.payload, second!.payload);
      assert.equal(first!.attempts, 0);
      assert.deepEqual(first!.next_attempt_at, new Date(T0));
      const audit = await db.selectFrom('audit_events').select(['id', 'seq']).where('id', '=', first!.event_id).executeTakeFirstOrThrow();
      const payload = JSON.parse(first!.payload!) as Record<string, unknown>;
      assert.equal(payload['id'], audit.id);
      assert.equal(payload['audit_seq'], audit.seq);
      assert.equal(payload['type'], 'auth.locked');
      assert.equal(payload['ip'], '198.51.100.4');
    });

    it('writes nothing for events that are not webhooks', async () => {
      const urls = receivers(1);
      await record(db, auditorFor(urls), { actor: { type: 'anonymous' }, action: 'auth.login_failed', outcome: 'failure' });
      assert.deepEqual(await rowsFor(db, urls), []);
    });

    it('a rolled-back change produces no webhook', async () => {
      const urls = receivers(2);
      const auditor = auditorFor(urls);
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await auditor.record(trx, NO_CONTEXT, LOCKED);
          assert.equal((await trx.selectFrom('jobs').select('id').where('kind', '=', WEBHOOK_JOB_KIND).where('done_at', 'is', null).execute()).length, 2, 'written inside the transaction');
          throw new Error('the change fails after its audit record');
        }),
        /the change fails/,
      );
      assert.deepEqual(await rowsFor(db, urls), []);
    });

    it('under the audit lock the capacity is the runner\'s estimate: full refuses with 503 and writes nothing, room writes without counting', async () => {
      const urls = receivers(1);
      const clock = (): Date => new Date(T0);
      const withEstimate = (estimate: number | null): Auditor =>
        createAuditor({ key: generateAuditKey(), clock, headCache: createChainHeadCache(), observers: [createWebhookObserver({ urls, clock, includeIp: false, maxPending: 1, pendingEstimate: () => estimate })] });
      await assert.rejects(record(db, withEstimate(1)), (error: unknown) => error instanceof Error && 'code' in error && error.code === 'service_unavailable');
      assert.deepEqual(await rowsFor(db, urls), [], 'the change rolled back');
      // Below the estimate's limit the INSERT goes ahead, however many rows are pending:
      // no count runs under the lock (the shared database holds pending webhooks of other tests).
      await record(db, withEstimate(0));
      await record(db, withEstimate(0));
      assert.equal((await rowsFor(db, urls)).length, 2);
      // With no estimate yet the queue counts, as for any kind: now it is over the limit of 1.
      await assert.rejects(record(db, withEstimate(null)), (error: unknown) => error instanceof Error && 'code' in error && error.code === 'service_unavailable');
    });

    it('a claim takes a lease: the row is not due again until it ends, then it is (the holder crashed)', async () => {
      const urls = receivers(1);
      await record(db, auditorFor(urls));
      const [first] = await claim(db, urls, 0);
      assert.equal(first!.attempts, 1);
      assert.deepEqual(await claim(db, urls, 59_999), []);
      const [again] = await claim(db, urls, 60_000);
      assert.equal(again!.id, first!.id);
      assert.equal(again!.attempts, 2);
    });

    it('an instance whose lease ran out cannot overwrite the outcome of the one holding it now', async () => {
      const urls = receivers(1);
      await record(db, auditorFor(urls));
      const [stale] = await claim(db, urls, 0);
      const [current] = await claim(db, urls, 60_000);
      assert.equal(await markWebhookDelivered(db, stale!, at(61_000)), false);
      assert.equal(await scheduleWebhookRetry(db, stale!, { at: at(999_000), error: 'http_500' }), false);
      assert.equal(await markWebhookDelivered(db, current!, at(61_000)), true);
      const [row] = await rowsFor(db, urls);
      assert.deepEqual(row!.delivered_at, at(61_000));
      assert.equal(await markWebhookFailed(db, current!, { now: at(62_000), error: 'late' }), false, 'delivered is final');
    });

    it('claims only rows for the receivers configured now', async () => {
      const keptReceiver = await startReceiver();
      const removedReceiver = await startReceiver();
      try {
        const [kept, removed] = [keptReceiver.url, removedReceiver.url];
        await record(db, auditorFor([kept, removed]));
        // An instance configured with `kept` only: the removed receiver's job is given up
        // on without a request.
        await webhookRig(db, { urls: [kept], clock: manualClock(T0).clock }).runner.runDue();
        const claims = (await rowsFor(db, [kept, removed])).filter((row) => row.delivered_at !== null);
        assert.deepEqual(claims.map((row) => row.url), [kept]);
        assert.equal(removedReceiver.received.length, 0);
        assert.equal((await rowsFor(db, [removed]))[0]!.last_error, 'receiver_removed');
      } finally {
        await keptReceiver.close();
        await removedReceiver.close();
      }
    });

    it('a retry is due at its time; a failed row is never claimed again', async () => {
      const urls = receivers(1);
      await record(db, auditorFor(urls));
      const [first] = await claim(db, urls, 0);
      assert.equal(await scheduleWebhookRetry(db, first!, { at: at(30_000), error: 'http_500' }), true);
      assert.deepEqual(await claim(db, urls, 29_999), []);
      const [second] = await claim(db, urls, 30_000);
      assert.equal(second!.attempts, 2);
      assert.equal(await markWebhookFailed(db, second!, { now: at(31_000), error: 'timeout' }), true);
      assert.deepEqual(await claim(db, urls, 10_000_000), []);
      const [row] = await rowsFor(db, urls);
      assert.equal(row!.last_error, 'timeout');
      assert.deepEqual(row!.failed_at, at(31_000));
    });

    it('a released claim is due at once and its attempt is not counted', async () => {
      const urls = receivers(1);
      await record(db, auditorFor(urls));
      const [first] = await claim(db, urls, 0);
      assert.equal(await releaseWebhook(db, first!, at(1_000)), true);
      const [again] = await claim(db, urls, 1_000);
      assert.equal(again!.attempts, 1);
    });

    it('concurrent claims never hand out the same row twice', async () => {
      const urls = receivers(1);
      const auditor = auditorFor(urls);
      for (let n = 0; n < 12; n++) await record(db, auditor);
      const batches = await Promise.all(Array.from({ length: 6 }, () => claim(db, urls, 0, 3)));
      const ids = batches.flat().map((row) => row.id);
      assert.equal(new Set(ids).size, ids.length, 'no row claimed twice');
      // The due rows are all handed out (skipped ones are left for the next poll, never duplicated).
      const rest = await claim(db, urls, 0, 100);
      assert.equal(ids.length + rest.length, 12);
    });

    it('prunes finished rows older than the cut-off, never pending ones', async () => {
      const urls = receivers(3);
      const auditor = auditorFor(urls);
      await record(db, auditor);
      const claims = await claim(db, urls, 0);
      const byURL = new Map(claims.map((row) => [row.url, row]));
      await markWebhookDelivered(db, byURL.get(urls[0]!)!, at(1_000));
      await markWebhookFailed(db, byURL.get(urls[1]!)!, { now: at(1_000), error: 'http_410' });
      assert.equal(await pruneWebhooks(db, { before: at(0), limit: 100 }), 0, 'nothing created before the cut-off');
      await pruneWebhooks(db, { before: at(1), limit: 100 });
      assert.deepEqual((await rowsFor(db, urls)).map((row) => row.url), [urls[2]]);
    });
  });
}
