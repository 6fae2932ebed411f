// A full registration queue refuses new registrations with 503 (Retry-After) for every
// address alike; it never acknowledges a registration it could not save, and it drops
// none of the registrations it already holds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DEFAULT_MAX_PENDING_JOBS, QUEUE_FULL_RETRY_SECONDS } from '../../src/core/jobs/repo.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { strongPassword, uniqueEmail } from '../helpers/http.ts';

describe('registration queue', () => {
  let test: TestApp;
  before(async () => {
    // The runner stays stopped, so the queue only fills.
    test = await startTestApp({ startWebhooks: false });
  });
  after(() => test.close());

  async function pendingRegistrations(): Promise<number> {
    const row = await test.database.db.selectFrom('jobs').select((eb) => eb.fn.countAll<string>().as('n')).where('kind', '=', 'registration').where('done_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('a 202 is a saved registration; a full queue answers 503 with Retry-After alike for a taken and a new address, and drops nothing it holds', async () => {
    const taken = uniqueEmail('queue-taken');
    const password = strongPassword();
    const first = await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: taken, password } });
    assert.equal(first.statusCode, 202);
    assert.equal(await pendingRegistrations(), 1, 'the acknowledged registration is a saved job');
    await test.settle();
    assert.equal(await pendingRegistrations(), 0);
    // Fill the queue to its capacity with pending registrations (opaque payloads: never run here).
    await sql`INSERT INTO jobs (id, kind, payload, created_at, next_attempt_at, attempts)
              SELECT gen_random_uuid(), 'registration', 'x', now(), now() + interval '1 day', 0
              FROM generate_series(1, ${DEFAULT_MAX_PENDING_JOBS})`.execute(test.database.db);
    const answers = [];
    for (const email of [taken, uniqueEmail('queue-new')]) {
      answers.push(await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: strongPassword() } }));
    }
    for (const answer of answers) {
      assert.equal(answer.statusCode, 503);
      assert.equal(answer.headers['retry-after'], String(QUEUE_FULL_RETRY_SECONDS));
      assert.equal(answer.json<{ code: string }>().code, 'service_unavailable');
    }
    const withoutRequestId = (body: string): unknown => ({ ...(JSON.parse(body) as Record<string, unknown>), request_id: null, instance: null });
    assert.deepEqual(withoutRequestId(answers[0]?.body ?? '{}'), withoutRequestId(answers[1]?.body ?? '{}'), 'the same answer for a taken and a new address');
    assert.equal(await pendingRegistrations(), DEFAULT_MAX_PENDING_JOBS, 'nothing held was dropped, nothing refused was added');
  });
});
