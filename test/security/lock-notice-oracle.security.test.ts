// The attempt that starts a lockout must not tell whether the account exists, even when
// the queues are full. The review found that the owner's "account locked" mail was
// queued in the login's own change for a real account only, so with the mail queue full
// that attempt answered 503 for a real account and 401 for an unknown one. Now every
// lock, known or unknown, queues the same lock-notice job, which looks the account up
// after the response.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DEFAULT_MAX_PENDING_JOBS } from '../../src/core/jobs/repo.ts';
import { DEFAULT_MAX_PENDING_MAIL } from '../../src/features/mail/queue.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';

async function fill(test: TestApp, kind: string, count: number): Promise<void> {
  await sql`INSERT INTO jobs (id, kind, payload, created_at, next_attempt_at, attempts)
            SELECT gen_random_uuid(), ${kind}, 'x', now(), now() + interval '1 day', 0
            FROM generate_series(1, ${count})`.execute(test.database.db);
}

async function failedLogins(test: TestApp, email: string, address: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const response = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong wrong wrong wrong' }, remoteAddress: address });
    statuses.push(response.statusCode);
  }
  return statuses;
}

describe('lock notice', () => {
  let test: TestApp;
  let owner = '';
  before(async () => {
    test = await startTestApp({ startWebhooks: false, env: { LOCKOUT_THRESHOLD: '3' } });
    owner = uniqueEmail('locked-owner');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: owner, password: strongPassword() } })).statusCode, 202);
    await test.settle();
  });
  after(() => test.close());

  it('with the mail queue full, the lock-starting attempt answers alike for a real and an unknown account', async () => {
    await fill(test, 'mail', DEFAULT_MAX_PENDING_MAIL);
    const known = await failedLogins(test, owner, '198.51.100.1');
    const unknown = await failedLogins(test, uniqueEmail('nobody'), '198.51.100.2');
    assert.deepEqual(known, [401, 401, 401, 429]);
    assert.deepEqual(unknown, known);
    await test.database.db.deleteFrom('jobs').where('payload', '=', 'x').execute();
  });

  it('with the lock-notice queue full, both answer the same too', async () => {
    await fill(test, 'lock-notice', DEFAULT_MAX_PENDING_JOBS);
    const secondOwner = uniqueEmail('locked-owner-2');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: secondOwner, password: strongPassword() } })).statusCode, 202);
    await test.settle();
    const known = await failedLogins(test, secondOwner, '198.51.100.3');
    const unknown = await failedLogins(test, uniqueEmail('nobody'), '198.51.100.4');
    assert.deepEqual(unknown, known);
    await test.database.db.deleteFrom('jobs').where('payload', '=', 'x').execute();
  });

  it('the owner of a real account gets the notice at the stored address; an unknown address gets nothing', async () => {
    const before = test.mails.length;
    const third = uniqueEmail('locked-owner-3');
    assert.equal((await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: third, password: strongPassword() } })).statusCode, 202);
    await test.settle();
    await failedLogins(test, third, '198.51.100.5');
    const ghost = uniqueEmail('nobody');
    await failedLogins(test, ghost, '198.51.100.6');
    await test.settle();
    const sent = test.mails.slice(before).filter((mail) => /lock/i.test(mail.subject));
    assert.deepEqual(sent.map((mail) => mail.to), [third]);
  });
});
