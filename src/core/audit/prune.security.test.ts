// Attacks on retention, each test named after the one it blocks. As in
// audit.security.test.ts the attacker can write to the database, even as a superuser,
// but does not hold the audit key; the application role is covered separately
// (test/security/least-privilege-role.security.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Database } from '../db/database.ts';
import { appendMany, asTriggerBypassingSuperuser, freshTrailPerTest, generateAuditKey, keyLookup, testDeps } from './audit.fixtures.ts';
import { signCheckpoint } from './checkpoint.ts';
import { pruneAuditTrail } from './prune.ts';
import type { AuditDeps } from './types.ts';
import { verifyAuditChain } from './verify.ts';

function isAppendOnlyRefusal(error: unknown): boolean {
  return error instanceof Error && /append-only/.test(error.message);
}

for (const engine of testEngines()) {
  describe(`audit retention attacks on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    /** Ten records, of which 1..4 are pruned behind a checkpoint through 4; 5..11 remain. */
    async function prunedTrail(): Promise<AuditDeps> {
      const deps = testDeps();
      await appendMany(database().db, deps, 10);
      const fifth = await database().db.selectFrom('audit_events').select('occurred_at').where('seq', '=', 5).executeTakeFirstOrThrow();
      const result = await pruneAuditTrail(database().db, deps, { before: new Date(fifth.occurred_at) });
      assert.equal(result.kind === 'pruned' ? result.checkpoint.through_seq : -1, 4);
      return deps;
    }

    async function verify(deps: AuditDeps): Promise<[boolean, number | null, string | undefined]> {
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      return [result.ok, result.firstBrokenSeq, result.reason];
    }

    it('an altered checkpoint (moved to hide more records) fails verification', async () => {
      const deps = await prunedTrail();
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_events').where('seq', '<=', 6).execute();
        const six = { seq: 6, hash: 'f'.repeat(64) };
        await trx.updateTable('audit_checkpoints').set({ through_seq: six.seq, through_hash: six.hash }).execute();
      });
      assert.deepEqual(await verify(deps), [false, 6, 'checkpoint_invalid']);
    });

    it('a checkpoint forged without the key fails verification', async () => {
      const deps = await prunedTrail();
      const seven = await database().db.selectFrom('audit_events').select('hash').where('seq', '=', 7).executeTakeFirstOrThrow();
      const forged = signCheckpoint(
        { id: deps.key.id, key: generateAuditKey().key },
        { id: '01900000-0000-7000-8000-000000000001', through_seq: 7, through_hash: seven.hash, record_count: 3, created_at: new Date() },
      );
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.insertInto('audit_checkpoints').values(forged).execute();
        await trx.deleteFrom('audit_events').where('seq', '<=', 7).execute();
      });
      assert.deepEqual(await verify(deps), [false, 7, 'checkpoint_invalid']);
    });

    it('removing the checkpoint exposes the pruned records as a gap', async () => {
      const deps = await prunedTrail();
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_checkpoints').execute();
      });
      assert.deepEqual(await verify(deps), [false, 1, 'seq_gap']);
    });

    it('removing records after the checkpoint is found at the first one removed', async () => {
      const deps = await prunedTrail();
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_events').where('seq', '<=', 5).execute();
      });
      assert.deepEqual(await verify(deps), [false, 5, 'seq_gap']);
    });

    it('the prune setting alone cannot delete records no checkpoint covers', async () => {
      await prunedTrail();
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          await sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`.execute(trx);
          await trx.deleteFrom('audit_events').where('seq', '=', 5).execute();
        }),
        isAppendOnlyRefusal,
      );
    });

    it('outside a prune, even covered records cannot be deleted, and nothing can be updated or truncated', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 3);
      const checkpoint = signCheckpoint(deps.key, { id: '01900000-0000-7000-8000-000000000002', through_seq: 2, through_hash: '0'.repeat(64), record_count: 2, created_at: new Date() });
      await database().db.insertInto('audit_checkpoints').values(checkpoint).execute();
      await assert.rejects(database().db.deleteFrom('audit_events').where('seq', '=', 1).execute(), isAppendOnlyRefusal);
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          await sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`.execute(trx);
          await trx.updateTable('audit_events').set({ action: 'session.hidden' }).where('seq', '=', 1).execute();
        }),
        isAppendOnlyRefusal,
      );
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          await sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`.execute(trx);
          await sql`TRUNCATE audit_events`.execute(trx);
        }),
        isAppendOnlyRefusal,
      );
    });

    it('checkpoints cannot be altered or removed through the triggers', async () => {
      await prunedTrail();
      const db = (database() satisfies Database).db;
      await assert.rejects(db.updateTable('audit_checkpoints').set({ record_count: 0 }).execute(), /append-only/);
      await assert.rejects(db.deleteFrom('audit_checkpoints').execute(), /append-only/);
      await assert.rejects(sql`TRUNCATE audit_checkpoints`.execute(db), /append-only/);
    });
  });
}
