import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { insertUser, runnerFor, scriptedHandler, uniqueKind } from './jobs.fixtures.ts';
import { claimDueJobs, countPendingJobs, enqueueJobs, QUEUE_FULL_RETRY_SECONDS } from './repo.ts';
import type { JobFailure } from './handler.ts';

function jobsOf(db: DB, kind: string) {
  return db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('created_at').orderBy('id').execute();
}

for (const engine of testEngines()) {
  describe(`job queue on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });

    it('a job enqueued in a committed transaction runs; one enqueued in a rolled-back transaction never exists', async () => {
      const kind = uniqueKind();
      const time = manualClock();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'kept' }], time.clock()));
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await enqueueJobs(trx, [{ kind, payload: 'rolled back' }], time.clock());
          throw new Error('the change fails');
        }),
        /the change fails/,
      );
      const handler = scriptedHandler(kind, () => Promise.resolve({ status: 'done' }));
      assert.equal(await runnerFor(db, { handlers: [handler], clock: time.clock }).runDue(), 1);
      assert.deepEqual(handler.seen, ['kept']);
      const [row] = await jobsOf(db, kind);
      assert.deepEqual(row!.done_at, time.clock());
      assert.equal(row!.payload, null, 'a finished job keeps no payload');
    });

    it('a full queue refuses the enqueue with a retryable 503, and the whole change rolls back', async () => {
      const kind = uniqueKind();
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: '1' }, { kind, payload: '2' }], now, { maxPending: 3 }));
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: '3' }], now, { maxPending: 3 }));
      const userId = await insertUser(db);
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.updateTable('users').set({ name_ciphertext: 'changed' }).where('id', '=', userId).execute();
          await enqueueJobs(trx, [{ kind, payload: '4' }], now, { maxPending: 3 });
        }),
        (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.code, 'service_unavailable');
          assert.equal(error.statusCode, 503);
          assert.equal(error.headers['retry-after'], String(QUEUE_FULL_RETRY_SECONDS));
          return true;
        },
      );
      assert.equal((await jobsOf(db, kind)).length, 3, 'nothing accepted is dropped, nothing refused is kept');
      const user = await db.selectFrom('users').select('name_ciphertext').where('id', '=', userId).executeTakeFirstOrThrow();
      assert.equal(user.name_ciphertext, null, 'the change that asked for the job rolled back with it');
      // Finished jobs do not count: once one is done there is room again.
      await runnerFor(db, { handlers: [scriptedHandler(kind, () => Promise.resolve({ status: 'done' }))], clock: () => now, tuning: { batchSize: 1 } }).runDue();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: '4' }], now, { maxPending: 3 }));
    });

    it('the capacity check counts only the kind being enqueued', async () => {
      const [full, other] = [uniqueKind(), uniqueKind()];
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind: full, payload: 'x' }], now, { maxPending: 1 }));
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind: other, payload: 'y' }], now, { maxPending: 1 }));
      assert.deepEqual(await countPendingJobs(db, [full, other]), new Map([[full, 1], [other, 1]]));
    });

    it('a dedupe key is unique within its kind', async () => {
      const kind = uniqueKind();
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'a', dedupeKey: 'event-1' }], now));
      await assert.rejects(db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'b', dedupeKey: 'event-1' }], now)));
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind: uniqueKind(), payload: 'c', dedupeKey: 'event-1' }], now));
      assert.equal((await jobsOf(db, kind)).length, 1);
    });

    it('deleting a user deletes their jobs', async () => {
      const kind = uniqueKind();
      const userId = await insertUser(db);
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'for the user', userId }, { kind, payload: 'for nobody' }], new Date()));
      await db.deleteFrom('users').where('id', '=', userId).execute();
      assert.deepEqual((await jobsOf(db, kind)).map((row) => row.payload), ['for nobody']);
    });

    it('a failure is retried after the backoff, then given up on; the payload goes when it fails for good', async () => {
      const kind = uniqueKind();
      const time = manualClock();
      const settled: { kind: string; status: string; final?: boolean }[] = [];
      const failures: JobFailure[] = [];
      const handler = { ...scriptedHandler(kind, () => Promise.resolve({ status: 'retry', error: 'smtp_421' })), onFailure: (_job: unknown, failure: JobFailure) => failures.push(failure) };
      const runner = runnerFor(db, {
        handlers: [handler],
        clock: time.clock,
        events: { onSettled: (settledKind, outcome) => settled.push({ kind: settledKind, status: outcome.status, ...(outcome.status === 'failed' ? { final: outcome.final } : {}) }) },
      });
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'p' }], time.clock()));
      assert.equal(await runner.runDue(), 1);
      const [afterFirst] = await jobsOf(db, kind);
      assert.equal(afterFirst!.last_error, 'smtp_421');
      assert.equal(afterFirst!.next_attempt_at.getTime() - time.clock().getTime(), 1_000);
      assert.equal(await runner.runDue(), 0, 'not before its time');
      for (let attempt = 0; attempt < 4; attempt++) {
        time.advanceSeconds(1);
        await runner.runDue();
      }
      assert.equal(handler.seen.length, 3, 'three attempts in all');
      assert.deepEqual(failures.map((failure) => [failure.attempt, failure.final]), [[1, false], [2, false], [3, true]]);
      assert.deepEqual(settled.map((event) => event.final), [false, false, true]);
      const [row] = await jobsOf(db, kind);
      assert.notEqual(row!.failed_at, null);
      assert.equal(row!.payload, null);
    });

    it('a handler that reports a permanent failure is not retried; one that throws is', async () => {
      const [permanent, throwing] = [uniqueKind(), uniqueKind()];
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind: permanent, payload: 'p' }, { kind: throwing, payload: 't' }], now));
      const runner = runnerFor(db, {
        handlers: [
          scriptedHandler(permanent, () => Promise.resolve({ status: 'failed', error: 'smtp_550' })),
          scriptedHandler(throwing, () => Promise.reject(new Error('bug'))),
        ],
        clock: () => now,
      });
      await runner.runDue();
      const [failed] = await jobsOf(db, permanent);
      assert.equal(failed!.last_error, 'smtp_550');
      assert.notEqual(failed!.failed_at, null);
      const [retried] = await jobsOf(db, throwing);
      assert.equal(retried!.last_error, 'exception');
      assert.equal(retried!.failed_at, null);
    });

    it('a handler that overruns its timeout is cut off and retried', async () => {
      const kind = uniqueKind();
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'slow' }], now));
      let aborted = false;
      const handler = scriptedHandler(kind, (_job, signal) => new Promise(() => { signal.addEventListener('abort', () => { aborted = true; }); }), { timeoutMs: 50 });
      const started = performance.now();
      await runnerFor(db, { handlers: [handler], clock: () => now }).runDue();
      assert.ok(performance.now() - started < 5_000);
      assert.equal(aborted, true, 'the handler is told to stop');
      const [row] = await jobsOf(db, kind);
      assert.equal(row!.last_error, 'timeout');
      assert.equal(row!.done_at, null);
    });

    it('a job whose runner crashed mid-run (lease expired) runs again; before that it is not due', async () => {
      const kind = uniqueKind();
      const time = manualClock();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'p' }], time.clock()));
      // The crashed instance: it claimed the job and never settled it.
      const [crashed] = await claimDueJobs(db, { now: time.clock(), leaseUntil: new Date(time.clock().getTime() + 60_000), kinds: [kind], limit: 10 });
      assert.equal(crashed!.attempts, 1);
      const handler = scriptedHandler(kind, () => Promise.resolve({ status: 'done' }));
      const runner = runnerFor(db, { handlers: [handler], clock: time.clock });
      assert.equal(await runner.runDue(), 0, 'still leased');
      time.advanceSeconds(60);
      assert.equal(await runner.runDue(), 1);
      const [row] = await jobsOf(db, kind);
      assert.equal(row!.attempts, 2);
      assert.notEqual(row!.done_at, null);
    });

    it('a runner leaves kinds it has no handler for', async () => {
      const [mine, theirs] = [uniqueKind(), uniqueKind()];
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind: mine, payload: 'm' }, { kind: theirs, payload: 't' }], now));
      assert.equal(await runnerFor(db, { handlers: [scriptedHandler(mine, () => Promise.resolve({ status: 'done' }))], clock: () => now }).runDue(), 1);
      const [row] = await jobsOf(db, theirs);
      assert.equal(row!.attempts, 0);
    });

    it('reports the queue depth of its kinds', async () => {
      const kind = uniqueKind();
      const now = new Date();
      await db.transaction().execute((trx) => enqueueJobs(trx, [{ kind, payload: 'a' }, { kind, payload: 'b' }], new Date(now.getTime() + 60_000)));
      const depths: Map<string, number>[] = [];
      await runnerFor(db, { handlers: [scriptedHandler(kind, () => Promise.resolve({ status: 'done' }))], clock: () => now, events: { onQueueDepth: (depth) => depths.push(new Map(depth)) } }).runDue();
      assert.deepEqual(depths, [new Map([[kind, 2]])]);
    });

    it('once started, an enqueue wakes it; stopping gives an unfinished job back uncounted', async () => {
      const kind = uniqueKind();
      let release: (() => void) | null = null;
      const handler = scriptedHandler(kind, (_job, signal) => new Promise((resolve) => {
        release = () => { resolve({ status: 'done' }); };
        signal.addEventListener('abort', () => { resolve({ status: 'abandoned' }); });
      }), { timeoutMs: 60_000 });
      const runner = runnerFor(db, { handlers: [handler], clock: () => new Date(), tuning: { pollIntervalMs: 60_000 } });
      runner.start();
      try {
        await delay(50);
        await db.transaction().execute(async (trx) => {
          await enqueueJobs(trx, [{ kind, payload: 'woken' }], new Date());
          runner.wake();
        });
        for (let waited = 0; handler.seen.length === 0 && waited < 3_000; waited += 20) await delay(20);
        assert.deepEqual(handler.seen, ['woken'], 'run without waiting for the poll');
      } finally {
        await runner.stop();
      }
      assert.notEqual(release, null);
      const [row] = await jobsOf(db, kind);
      assert.equal(row!.attempts, 0, 'our shutdown is not the job failing');
      assert.equal(row!.done_at, null);
      assert.ok(row!.next_attempt_at.getTime() <= Date.now(), 'due at once for the next instance');
    });
  });
}
