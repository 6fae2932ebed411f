// Migration 0010 moves the webhook outbox into the jobs table: pending webhooks keep
// everything a delivery needs (the exact body, byte for byte), finished ones keep their
// outcome, and the dedupe key is the one new jobs get, so no event is sent twice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import { migrate, MIGRATIONS_DIR } from '../../core/db/migrate.ts';
import { WEBHOOK_JOB_KIND, webhookDedupeKey, webhookOfJob } from './outbox.ts';

const BODY = '{"id":"e","type":"auth.locked",  "note":"spacing and \\u00e9 kept"}';

for (const engine of testEngines()) {
  describe(`migration 0010 on ${engine.engine}`, () => {
    it('moves webhook_outbox rows into jobs and drops the outbox', async () => {
      const before = await mkdtemp(join(tmpdir(), 'gh-migrations-'));
      const test = await engine.open({ migrate: false });
      try {
        await cp(MIGRATIONS_DIR, before, { recursive: true, filter: (source) => !source.endsWith('0010_jobs.sql') });
        await migrate(test.database, before);
        const [pending, delivered] = [randomUUID(), randomUUID()];
        const url = 'https://hooks.example.test/in/TOKEN?key=1';
        const created = new Date('2030-01-02T03:04:05Z');
        await sql`
          INSERT INTO webhook_outbox (id, event_id, url, event_type, payload, created_at, next_attempt_at, attempts, last_error, delivered_at, failed_at) VALUES
            (${randomUUID()}, ${pending}, ${url}, 'auth.locked', ${BODY}, ${created}, ${created}, 2, 'http_500', NULL, NULL),
            (${randomUUID()}, ${delivered}, ${url}, 'role.assigned', ${BODY}, ${created}, ${created}, 1, NULL, ${created}, NULL)`.execute(test.database.db);

        await migrate(test.database);

        const rows = await test.database.db.selectFrom('jobs').selectAll().orderBy('attempts', 'desc').execute();
        assert.equal(rows.length, 2);
        const [queued, done] = rows;
        assert.equal(queued!.kind, WEBHOOK_JOB_KIND);
        assert.equal(queued!.attempts, 2);
        assert.equal(queued!.last_error, 'http_500');
        assert.deepEqual(queued!.next_attempt_at, created);
        assert.equal(queued!.dedupe_key, webhookDedupeKey(pending, url), 'the key new jobs get');
        const webhook = webhookOfJob({ id: queued!.id, kind: queued!.kind, payload: queued!.payload ?? '', userId: null, dedupeKey: null, attempts: 2 });
        assert.deepEqual(webhook, { eventId: pending, eventType: 'auth.locked', url, body: BODY });
        assert.deepEqual(done!.done_at, created);
        assert.equal(done!.payload, null, 'finished jobs keep no payload');
        assert.equal(done!.dedupe_key, webhookDedupeKey(delivered, url));
        const outbox = await sql<{ name: string | null }>`SELECT to_regclass('webhook_outbox')::text AS name`.execute(test.database.db);
        assert.equal(outbox.rows[0]?.name, null);
      } finally {
        await test.cleanup();
        await rm(before, { recursive: true, force: true });
      }
    });
  });
}
