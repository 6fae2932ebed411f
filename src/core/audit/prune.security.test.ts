// Attacks on retention, each test named after the one it blocks. As in
// audit.security.test.ts the attacker can write to the database, even as a superuser,
// but does not hold the audit key; the application role is covered separately
// (test/security/least-privilege-role.security.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Database } from '../db/database.ts';
import { appendMany, appendOne, asTriggerBypassingSuperuser, freshTrailPerTest, generateAuditKey, keyLookup, sampleEvent, testDeps } from './audit.fixtures.ts';
import { computeAuditHash } from './seal.ts';
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

    it('a record forged after the pre-prune walk, and sealed over by an honest append, is kept as evidence', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 10);
      const real = database().db;
      // The forgery lands in the window between the walk outside the lock and taking it.
      const racing = new Proxy(real, {
        get(target, property) {
          if (property !== 'transaction') {
            // Kysely's private fields need the real instance as `this`.
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          }
          return () => ({
            async execute<T>(fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
              const tenth = await real.selectFrom('audit_events').selectAll().where('seq', '=', 10).executeTakeFirstOrThrow();
              const content = { ...tenth, seq: 11, id: '01900000-0000-7000-8000-0000000000f1', action: 'role.assigned', prev_hash: tenth.hash };
              const hash = computeAuditHash(generateAuditKey(deps.key.id).key, content);
              await real.insertInto('audit_events').values({ ...content, details: JSON.stringify(content.details), hash }).execute();
              await appendOne(real, deps, sampleEvent(12));
              return real.transaction().execute(fn);
            },
          });
        },
      });
      const result = await pruneAuditTrail(racing, deps, { before: new Date(Date.UTC(2100, 0, 1)) });
      assert.ok(result.kind === 'chain_broken', `prune answered ${result.kind}`);
      assert.deepEqual([result.verification.firstBrokenSeq, result.verification.reason], [11, 'hash_mismatch']);
      const kept = await real.selectFrom('audit_events').select('seq').where('seq', '=', 11).executeTakeFirst();
      assert.equal(kept?.seq, 11, 'the forged record is still there');
      assert.equal((await real.selectFrom('audit_checkpoints').select('id').execute()).length, 0);
    });

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
