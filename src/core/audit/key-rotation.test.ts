// Rotation of the audit-chain key (`gatehouse keys rotate-audit`) while instances append:
// every instance switches at the hand-over, nothing fails, the chain verifies across it,
// an interrupted rotation resumes, and pruning drops the key no kept record needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { freshTrailPerTest } from './audit.fixtures.ts';
import { checkpointIsAuthentic, latestCheckpoint } from './checkpoint.ts';
import { HANDOVER_ACTION } from './keys.ts';
import { allKeys, keyIdsBySeq, rotate, rotatedChain, startInstance, testKeyring } from './key-rotation.fixtures.ts';
import { pruneAuditTrail } from './prune.ts';
import { rotateAuditKey } from './rotate-key.ts';
import { verifyAuditChain } from './verify.ts';

const WRITERS = 4;
const WRITES_PER_WRITER = 15;

for (const engine of testEngines()) {
  describe(`audit key rotation on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);
    const keyring = testKeyring();

    async function handovers(): Promise<number[]> {
      const rows = await database().db.selectFrom('audit_events').select('seq').where('action', '=', HANDOVER_ACTION).orderBy('seq').execute();
      return rows.map((row) => row.seq);
    }

    it('two instances writing before, during and after a rotation: no write fails, all switch at the hand-over, the chain verifies', async () => {
      const { db } = database();
      const instances = [await startInstance(db, keyring), await startInstance(db, keyring)];
      for (const [index, instance] of instances.entries()) await instance.write(index);
      let n = 100;
      const writers = Array.from({ length: WRITERS }, async (_, writer) => {
        for (let i = 0; i < WRITES_PER_WRITER; i += 1) await instances[(writer + i) % 2]!.write((n += 1));
      });
      // The rotation runs while the writers do, and they keep writing while its key is pending.
      const rotation = rotate(db, keyring, async () => {
        await Promise.all(instances.map((instance) => instance.write((n += 1))));
      });
      const [rotated] = await Promise.all([rotation, ...writers]);
      for (const instance of instances) await instance.write((n += 1));

      assert.deepEqual([rotated.from, rotated.to, rotated.resumed, rotated.alreadyDone], ['audit-chain', 'audit-chain:2', false, false]);
      assert.deepEqual(await handovers(), [rotated.seq]);
      const keys = await keyIdsBySeq(db);
      const total = 2 + WRITERS * WRITES_PER_WRITER + 2 + 1 + 2;
      assert.equal(keys.length, total);
      // Up to and including the hand-over the old key, after it only the new one.
      assert.deepEqual([...new Set(keys.slice(0, rotated.seq))], ['audit-chain']);
      assert.deepEqual([...new Set(keys.slice(rotated.seq))], ['audit-chain:2']);
      for (const instance of instances) assert.equal(instance.deps.headCache.key?.id, 'audit-chain:2');
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.checked, result.head.keyId], [true, total, 'audit-chain:2']);
    });

    it('an instance started before the rotation and idle since appends under the new key at its first write', async () => {
      const { db } = database();
      const idle = await startInstance(db, keyring);
      await idle.write(1);
      await rotate(db, keyring);
      await idle.write(2);
      assert.deepEqual(await keyIdsBySeq(db), ['audit-chain', 'audit-chain', 'audit-chain:2']);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });

    it('a rotation stopped after creating its key resumes with that key: one hand-over, no second key', async () => {
      const { db } = database();
      const instance = await startInstance(db, keyring);
      await instance.write(1);
      await assert.rejects(rotate(db, keyring, () => Promise.reject(new Error('killed'))), /killed/);
      // Pending: stored, sealing nothing.
      await instance.write(2);
      assert.deepEqual(await keyIdsBySeq(db), ['audit-chain', 'audit-chain']);
      const resumed = await rotate(db, keyring);
      assert.deepEqual([resumed.to, resumed.resumed, resumed.alreadyDone], ['audit-chain:2', true, false]);
      assert.deepEqual(await handovers(), [3]);
      const stored = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'audit-chain').orderBy('id').execute();
      assert.deepEqual(stored.map((row) => row.id), ['audit-chain', 'audit-chain:2']);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });

    it('two rotations run at once hand over once', async () => {
      const { db } = database();
      await (await startInstance(db, keyring)).write(1);
      // Both have read the key in force and hold the new one before either hands over:
      // started together without this, one could finish before the other read the key in
      // force (CI saw it once, a fresh pool connection delaying the second), and the second
      // was then a rotation of its own, from the first one's key.
      let arrived = 0;
      let release = (): void => {};
      const together = new Promise<void>((resolve) => { release = resolve; });
      const barrier = async (step: string): Promise<void> => {
        if (step !== 'key_created') return;
        arrived += 1;
        if (arrived === 2) release();
        await together;
      };
      const results = await Promise.all([rotate(db, keyring, barrier), rotate(db, keyring, barrier)]);
      assert.deepEqual(results.map((result) => result.to), ['audit-chain:2', 'audit-chain:2']);
      assert.deepEqual(results.map((result) => result.alreadyDone).sort(), [false, true]);
      assert.deepEqual(await handovers(), [2]);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });

    it('a rotating process that started before another rotation hands over from the key now in force', async () => {
      const { db } = database();
      await (await startInstance(db, keyring)).write(1);
      const late = await startInstance(db, keyring);
      await rotate(db, keyring);
      const rotation = await rotateAuditKey({ db, keyring, change: late.change });
      assert.deepEqual([rotation.from, rotation.to, rotation.alreadyDone], ['audit-chain:2', 'audit-chain:3', false]);
      assert.deepEqual(await handovers(), [2, 3]);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });

    it('rotating again hands over from the second key to a third', async () => {
      const { db } = database();
      await rotatedChain(db, keyring);
      const again = await rotate(db, keyring);
      assert.deepEqual([again.from, again.to, again.resumed], ['audit-chain:2', 'audit-chain:3', false]);
      assert.deepEqual(await handovers(), [4, 8]);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });

    it('a prune past the hand-over signs under the new key, names it for what follows, and drops the old key', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring);
      const sixth = await db.selectFrom('audit_events').select('occurred_at').where('seq', '=', 6).executeTakeFirstOrThrow();
      const result = await pruneAuditTrail(db, { ...instance.deps, loadKeys: (trx) => allKeys(trx, keyring) }, { before: new Date(sixth.occurred_at) });
      assert.equal(result.kind, 'pruned');
      const checkpoint = await latestCheckpoint(db);
      assert.deepEqual([checkpoint?.through_seq, checkpoint?.key_id, checkpoint?.next_key_id], [5, 'audit-chain:2', 'audit-chain:2']);
      const stored = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'audit-chain').execute();
      assert.deepEqual(stored.map((row) => row.id), ['audit-chain:2']);
      const pruned = await db.selectFrom('audit_events').select('details').where('action', '=', 'audit.pruned').executeTakeFirstOrThrow();
      assert.deepEqual(pruned.details['keys_dropped'], ['audit-chain']);
      const keys = await allKeys(db, keyring);
      assert.equal(checkpoint !== null && checkpointIsAuthentic(checkpoint, keys), true);
      assert.deepEqual((await verifyAuditChain(db, keys)).ok, true);
    });

    it('a prune before the hand-over keeps the old key, which the kept records still need', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring);
      const third = await db.selectFrom('audit_events').select('occurred_at').where('seq', '=', 3).executeTakeFirstOrThrow();
      await pruneAuditTrail(db, { ...instance.deps, loadKeys: (trx) => allKeys(trx, keyring) }, { before: new Date(third.occurred_at) });
      const checkpoint = await latestCheckpoint(db);
      assert.deepEqual([checkpoint?.through_seq, checkpoint?.next_key_id], [2, 'audit-chain']);
      const stored = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'audit-chain').orderBy('id').execute();
      assert.deepEqual(stored.map((row) => row.id), ['audit-chain', 'audit-chain:2']);
      assert.equal((await verifyAuditChain(db, await allKeys(db, keyring))).ok, true);
    });
  });
}
