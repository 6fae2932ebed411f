// Retention: `gatehouse audit prune` removes old records behind a signed checkpoint,
// and what remains verifies from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { pruneCutoff, PruneUsageError } from '../../cli/audit-prune.ts';
import type { Database } from '../db/database.ts';
import { appendMany, asTriggerBypassingSuperuser, freshTrailPerTest, keyLookup, testDeps } from './audit.fixtures.ts';
import { checkpointIsAuthentic, latestCheckpoint } from './checkpoint.ts';
import { pruneAuditTrail } from './prune.ts';
import type { AuditDeps } from './types.ts';
import { verifyAuditChain } from './verify.ts';

async function seqs(database: Database): Promise<number[]> {
  const rows = await database.db.selectFrom('audit_events').select('seq').orderBy('seq').execute();
  return rows.map((row) => row.seq);
}

async function timeOf(database: Database, seq: number): Promise<Date> {
  const row = await database.db.selectFrom('audit_events').select('occurred_at').where('seq', '=', seq).executeTakeFirstOrThrow();
  return new Date(row.occurred_at);
}

for (const engine of testEngines()) {
  describe(`audit pruning on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    async function trailOf(count: number): Promise<AuditDeps> {
      const deps = testDeps();
      await appendMany(database().db, deps, count);
      return deps;
    }

    it('pruning with a checkpoint keeps the rest verifiable', async () => {
      const deps = await trailOf(10);
      const result = await pruneAuditTrail(database().db, deps, { before: await timeOf(database(), 6) });
      assert.equal(result.kind === 'pruned' ? result.removed : 0, 5);
      // Records 6..10 stay, and the prune recorded itself as 11.
      assert.deepEqual(await seqs(database()), [6, 7, 8, 9, 10, 11]);
      const checkpoint = await latestCheckpoint(database().db);
      assert.ok(checkpoint !== null);
      assert.deepEqual([checkpoint.through_seq, checkpoint.record_count], [5, 5]);
      assert.equal(checkpointIsAuthentic(checkpoint, keyLookup(deps.key)), true);
      const verification = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([verification.ok, verification.checked, verification.head.seq], [true, 6, 11]);
      const pruned = await database().db.selectFrom('audit_events').selectAll().where('seq', '=', 11).executeTakeFirstOrThrow();
      assert.equal(pruned.action, 'audit.pruned');
      assert.deepEqual(pruned.details['through_seq'], 5);
    });

    it('a second prune continues from the first checkpoint, and appends go on after both', async () => {
      const deps = await trailOf(6);
      await pruneAuditTrail(database().db, deps, { before: await timeOf(database(), 3) });
      const second = await pruneAuditTrail(database().db, deps, { before: await timeOf(database(), 6) });
      assert.equal(second.kind === 'pruned' ? second.checkpoint.record_count : -1, 3, 'records 3, 4 and 5');
      await appendMany(database().db, deps, 2);
      assert.deepEqual(await seqs(database()), [6, 7, 8, 9, 10]);
      assert.equal((await verifyAuditChain(database().db, keyLookup(deps.key))).ok, true);
    });

    it('never removes the newest record, which the next append chains from', async () => {
      const deps = await trailOf(3);
      const result = await pruneAuditTrail(database().db, deps, { before: new Date(Date.UTC(2100, 0, 1)) });
      assert.equal(result.kind === 'pruned' ? result.checkpoint.through_seq : -1, 2);
      assert.deepEqual(await seqs(database()), [3, 4]);
      await appendMany(database().db, deps, 1);
      assert.deepEqual((await verifyAuditChain(database().db, keyLookup(deps.key))).ok, true);
    });

    it('does nothing when no record is old enough, or the trail is empty', async () => {
      const deps = testDeps();
      assert.deepEqual(await pruneAuditTrail(database().db, deps, { before: new Date(Date.UTC(2100, 0, 1)) }), { kind: 'nothing_to_prune' });
      await appendMany(database().db, deps, 3);
      assert.deepEqual(await pruneAuditTrail(database().db, deps, { before: await timeOf(database(), 1) }), { kind: 'nothing_to_prune' });
      assert.deepEqual(await seqs(database()), [1, 2, 3]);
    });

    it('refuses while the chain is broken, keeping the evidence', async () => {
      const deps = await trailOf(5);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.updateTable('audit_events').set({ action: 'session.hidden' }).where('seq', '=', 2).execute();
      });
      const result = await pruneAuditTrail(database().db, deps, { before: await timeOf(database(), 5) });
      assert.equal(result.kind === 'chain_broken' ? result.verification.firstBrokenSeq : -1, 2);
      assert.deepEqual(await seqs(database()), [1, 2, 3, 4, 5]);
      assert.equal(await latestCheckpoint(database().db), null);
    });
  });
}

describe('audit prune cut-off', () => {
  const now = new Date('2031-06-10T12:00:00.000Z');

  it('defaults to now minus AUDIT_RETENTION_DAYS', () => {
    assert.equal(pruneCutoff(undefined, 30, now).toISOString(), '2031-05-11T12:00:00.000Z');
  });

  it('refuses when retention is unset (keep forever) and no --before is given', () => {
    assert.throws(() => pruneCutoff(undefined, null, now), PruneUsageError);
  });

  it('takes --before as an ISO date, never one in the future or malformed', () => {
    assert.equal(pruneCutoff('2031-01-01', null, now).toISOString(), '2031-01-01T00:00:00.000Z');
    assert.throws(() => pruneCutoff('2032-01-01', 30, now), PruneUsageError);
    assert.throws(() => pruneCutoff('yesterday', 30, now), PruneUsageError);
    assert.throws(() => pruneCutoff('1', 30, now), PruneUsageError);
  });
});
