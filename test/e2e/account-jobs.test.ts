// An account job takes effect exactly once: it marks itself done in the same change as
// its effects, so running a claim again (the instance crashed after the commit, or its
// lease ran out and another instance claimed the job since) changes nothing. The review
// found that a registration retried after its account was deleted brought it back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimDueJobs, type ClaimedJob } from '../../src/core/jobs/repo.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';

describe('account jobs run exactly once', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ startWebhooks: false });
  });
  after(() => test.close());

  async function claimRegistration(leaseMs = 60_000): Promise<ClaimedJob> {
    const now = new Date();
    const [job] = await claimDueJobs(test.database.db, { now, leaseUntil: new Date(now.getTime() + leaseMs), kinds: ['registration'], limit: 1 });
    assert.ok(job !== undefined, 'a registration job is due');
    return job;
  }

  function handler(): NonNullable<ReturnType<typeof test.services.auth.accountJobs.handlers.find>> {
    const found = test.services.auth.accountJobs.handlers.find((candidate) => candidate.kind === 'registration');
    assert.ok(found !== undefined);
    return found;
  }

  async function usersWith(id: string): Promise<number> {
    return (await test.database.db.selectFrom('users').select('id').where('id', '=', id).execute()).length;
  }

  it('a claim run again after it committed (a crash before the runner recorded it) creates nothing more, even after the account was deleted', async () => {
    const email = uniqueEmail('exactly-once');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: strongPassword() } })).statusCode, 202);
    const job = await claimRegistration();
    const signal = new AbortController().signal;
    assert.deepEqual(await handler().handle(job, signal), { status: 'done' });
    assert.equal(await usersWith(job.id), 1, 'the account exists, with the job\'s id');
    await test.database.db.deleteFrom('users').where('id', '=', job.id).execute();
    assert.deepEqual(await handler().handle(job, signal), { status: 'done' });
    assert.equal(await usersWith(job.id), 0, 'the deleted account does not come back');
    const row = await test.database.db.selectFrom('jobs').select(['done_at', 'payload']).where('id', '=', job.id).executeTakeFirstOrThrow();
    assert.ok(row.done_at !== null);
    assert.equal(row.payload, null, 'the sealed payload (address, hash) is gone once done');
  });

  it('an instance whose lease ran out, after another claimed the job, does nothing', async () => {
    const email = uniqueEmail('lease-lost');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: strongPassword() } })).statusCode, 202);
    const stale = await claimRegistration(-1);
    const current = await claimRegistration();
    assert.equal(current.id, stale.id);
    const signal = new AbortController().signal;
    await handler().handle(stale, signal);
    assert.equal(await usersWith(stale.id), 0, 'the stale claim changed nothing');
    await handler().handle(current, signal);
    assert.equal(await usersWith(current.id), 1);
  });
});
