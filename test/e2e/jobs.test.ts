// The job queue as the server wires it: a mail queued through the app's MailQueue inside
// a transaction is sent by the app's runner through the configured transport and shows
// in the metrics; a full queue answers 503 with Retry-After and rolls the change back.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { responses } from '../../src/core/http/problem.ts';
import { insertUser } from '../../src/core/jobs/jobs.fixtures.ts';
import { enqueueJobs, QUEUE_FULL_RETRY_SECONDS } from '../../src/core/jobs/repo.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('job queue in the app', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      routes: (app) => {
        // A change that also asks for a job, on a queue that is already full.
        app.post('/test/change-with-job', { config: { access: 'public' }, schema: { response: responses({ 204: Type.Null() }) } }, async (_request, reply) => {
          const userId = await insertUser(test.database.db);
          await test.database.db.transaction().execute(async (trx) => {
            await trx.updateTable('users').set({ name_ciphertext: 'changed' }).where('id', '=', userId).execute();
            await enqueueJobs(trx, [{ kind: 'test-full', payload: 'x', userId }], new Date(), { maxPending: 0 });
          });
          return reply.code(204).send(null);
        });
      },
    });
  });
  after(() => test.close());

  it('a mail queued in a committed transaction is sent by the running server, and counted', async () => {
    const userId = await insertUser(test.database.db);
    await test.database.db.transaction().execute((trx) =>
      test.services.mail.enqueue(trx, { to: 'queued@example.test', subject: 'Queued', text: 'body' }, { userId }),
    );
    for (let waited = 0; test.mails.length === 0 && waited < 5_000; waited += 20) await delay(20);
    assert.deepEqual(test.mails, [{ to: 'queued@example.test', subject: 'Queued', text: 'body' }]);
    await test.services.jobs.runDue();
    const metrics = await test.services.metrics.registry.metrics();
    assert.match(metrics, /^gatehouse_jobs_enqueued_total\{kind="mail"\} 1$/m);
    assert.match(metrics, /^gatehouse_jobs_completed_total\{kind="mail"\} 1$/m);
    assert.match(metrics, /^gatehouse_jobs_pending\{kind="mail"\} 0$/m);
    assert.match(metrics, /^gatehouse_webhook_failures_total 0$/m);
    assert.equal(test.logs.join('\n').includes('queued@example.test'), false, 'no recipient in the logs');
  });

  it('a full queue answers 503 with Retry-After, and the change that asked for the job rolls back', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/test/change-with-job' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['retry-after'], String(QUEUE_FULL_RETRY_SECONDS));
    assert.equal(response.json<{ code: string }>().code, 'service_unavailable');
    const changed = await test.database.db.selectFrom('users').select('id').where('name_ciphertext', '=', 'changed').execute();
    assert.deepEqual(changed, []);
    assert.deepEqual(await test.database.db.selectFrom('jobs').select('id').where('kind', '=', 'test-full').execute(), []);
  });
});
