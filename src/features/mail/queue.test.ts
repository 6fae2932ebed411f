import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { insertUser, QUICK_RETRY } from '../../core/jobs/jobs.fixtures.ts';
import { mailJobs, mailRig, RECIPIENT, resetMail } from './mail.fixtures.ts';
import { MAIL_JOB_KIND } from './queue.ts';

for (const engine of testEngines()) {
  describe(`mail queue on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });
    // Each test starts with no mail pending: a runner claims every due mail job.
    beforeEach(() => db.deleteFrom('jobs').where('kind', '=', MAIL_JOB_KIND).execute());

    it('a mail enqueued in a committed transaction is sent by the runner, once', async () => {
      const rig = mailRig(db);
      const userId = await insertUser(db);
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-committed'), { userId }));
      assert.equal(rig.sent.length, 0, 'nothing is sent on the request path');
      assert.equal(await rig.runner.runDue(), 1);
      assert.equal(rig.sent.length, 1);
      assert.equal(rig.sent[0]!.to, RECIPIENT);
      assert.match(rig.sent[0]!.text, /reset-password#token=tok-committed/);
      assert.equal(await rig.runner.runDue(), 0, 'sent once');
      const [row] = await mailJobs(db);
      assert.equal(row!.user_id, userId);
      assert.notEqual(row!.done_at, null);
      assert.equal(row!.payload, null, 'the sealed payload is cleared once sent');
    });

    it('a mail enqueued in a rolled-back transaction is never sent', async () => {
      const rig = mailRig(db);
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await rig.queue.enqueue(trx, resetMail('tok-rolled-back'), { userId: null });
          throw new Error('the change fails');
        }),
        /the change fails/,
      );
      assert.equal(await rig.runner.runDue(), 0);
      assert.deepEqual(rig.sent, []);
      assert.deepEqual(await mailJobs(db), []);
    });

    it('a transport failure is retried with backoff, and the mail is given up on after the last attempt', async () => {
      const rig = mailRig(db);
      rig.failNext(10, Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }));
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-retried'), { userId: null }));
      await rig.runner.runDue();
      const [first] = await mailJobs(db);
      assert.equal(first!.last_error, 'transport_ECONNREFUSED');
      assert.equal(first!.next_attempt_at.getTime() - rig.time.clock().getTime(), QUICK_RETRY.baseDelayMs, 'retried after the backoff');
      assert.equal(await rig.runner.runDue(), 0, 'not before its time');
      for (let attempt = 0; attempt < 4; attempt++) {
        rig.time.advanceSeconds(1);
        await rig.runner.runDue();
      }
      const [row] = await mailJobs(db);
      assert.equal(row!.attempts, QUICK_RETRY.maxAttempts);
      assert.notEqual(row!.failed_at, null);
      assert.equal(row!.payload, null, 'the sealed payload is cleared once given up on');
      assert.deepEqual(rig.sent, []);
      assert.ok(rig.logs.some((line) => line.includes('mail delivery failed for good')));
    });

    it('a transport failure that passes is retried until the mail is sent', async () => {
      const rig = mailRig(db);
      rig.failNext(1, Object.assign(new Error('try later'), { responseCode: 421 }));
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-second-try'), { userId: null }));
      await rig.runner.runDue();
      assert.equal((await mailJobs(db))[0]!.last_error, 'smtp_421');
      rig.time.advanceSeconds(1);
      await rig.runner.runDue();
      assert.equal(rig.sent.length, 1);
    });

    it('a permanent SMTP refusal (5xx) is not retried', async () => {
      const rig = mailRig(db);
      rig.failNext(1, Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-refused'), { userId: null }));
      await rig.runner.runDue();
      const [row] = await mailJobs(db);
      assert.equal(row!.last_error, 'smtp_550');
      assert.notEqual(row!.failed_at, null);
    });

    it('a mail whose sender crashed mid-send (lease expired) is sent again', async () => {
      const rig = mailRig(db);
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-crashed'), { userId: null }));
      // The crashed instance: its send never returns and its process is gone.
      const crashed = mailRig(db, { key: rig.key, transport: () => new Promise(() => undefined) });
      const crashedRun = crashed.runner.runDue();
      for (let waited = 0; waited < 3_000 && (await mailJobs(db))[0]!.attempts === 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await rig.runner.runDue(), 0, 'leased to the crashed instance');
      rig.time.advanceSeconds(3_600);
      assert.equal(await rig.runner.runDue(), 1);
      assert.equal(rig.sent.length, 1);
      const [row] = await mailJobs(db);
      assert.equal(row!.attempts, 2);
      assert.notEqual(row!.done_at, null);
      await crashed.runner.stop();
      await crashedRun;
    });

    it('a full mail queue refuses the change with service_unavailable, and the change rolls back', async () => {
      const rig = mailRig(db, { maxPending: 2 });
      const userId = await insertUser(db);
      for (let n = 0; n < 2; n++) await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail(`tok-${n}`), { userId }));
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.updateTable('users').set({ name_ciphertext: 'changed' }).where('id', '=', userId).execute();
          await rig.queue.enqueue(trx, resetMail('tok-refused'), { userId });
        }),
        (error: unknown) => error instanceof AppError && error.code === 'service_unavailable',
      );
      assert.equal((await mailJobs(db)).length, 2);
      const user = await db.selectFrom('users').select('name_ciphertext').where('id', '=', userId).executeTakeFirstOrThrow();
      assert.equal(user.name_ciphertext, null);
      await rig.runner.runDue();
      assert.equal(rig.sent.length, 2, 'what was accepted is sent');
    });

    it('deleting the user deletes their pending mail', async () => {
      const rig = mailRig(db);
      const userId = await insertUser(db);
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail('tok-deleted-user'), { userId }));
      await db.deleteFrom('users').where('id', '=', userId).execute();
      assert.deepEqual(await mailJobs(db), []);
      assert.equal(await rig.runner.runDue(), 0);
      assert.deepEqual(rig.sent, []);
    });
  });
}
