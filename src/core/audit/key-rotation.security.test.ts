// Attacks on a chain that spans an audit-key rotation, each test named after the one it
// blocks. The attacker writes to the database at will (the trigger-bypassing superuser of
// audit.fixtures.ts) and may hold one of the keys, never both: the old one leaked (why
// one rotates), or the new one and not the old.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Schema } from '../db/schema.ts';
import { readSystemKey } from '../crypto/system-keys.ts';
import { AuditKeyDowngradeError, AuditKeyUnavailableError } from './append.ts';
import { appendOne, asTriggerBypassingSuperuser, freshTrailPerTest, generateAuditKey, handoverEvent, sampleEvent, steppingClock } from './audit.fixtures.ts';
import { signCheckpoint } from './checkpoint.ts';
import { sealAfter } from './insert.ts';
import { exportAuditTrail } from '../../features/audit-trail/export.ts';
import { allKeys, rotate, rotatedChain, startInstance, testKeyring } from './key-rotation.fixtures.ts';
import { prepareAuditEvent } from './prepare.ts';
import type { AuditEventInput, AuditKey, AuditRecord } from './types.ts';
import { verifyAuditChain, verifyRecords } from './verify.ts';

async function recordAt(db: Kysely<Schema>, seq: number): Promise<AuditRecord> {
  return db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

/** A row at `seq`, after the record before it, sealed under `key`, claiming the key id `claimed`. */
async function forgedRow(db: Kysely<Schema>, seq: number, event: AuditEventInput, key: AuditKey, claimed: string = key.id): Promise<Record<string, unknown>> {
  const previous = await recordAt(db, seq - 1);
  const prepared = prepareAuditEvent({ clock: steppingClock(Date.UTC(2031, 0, 1)) }, event);
  const sealed = sealAfter(key, prepared, { seq: previous.seq, hash: previous.hash });
  return { ...sealed.content, key_id: claimed, occurred_at: prepared.occurredAt, details: prepared.detailsText, hash: sealed.hash };
}

for (const engine of testEngines()) {
  describe(`audit key rotation attacks on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);
    const keyring = testKeyring();

    it('a hand-over forged without the old key (by one who holds the new key) is detected at the hand-over', async () => {
      const { db } = database();
      const instance = await startInstance(db, keyring);
      for (const n of [1, 2, 3]) await instance.write(n);
      // An interrupted rotation left the new key pending; the attacker holds it, not the old one.
      await assert.rejects(rotate(db, keyring, () => Promise.reject(new Error('killed'))));
      const newKey = await readSystemKey(db, keyring, 'audit-chain:2');
      assert.ok(newKey !== null);
      const oldKeyId = instance.deps.key.id;
      const forged = await forgedRow(db, 4, handoverEvent({ id: oldKeyId, key: newKey.key }, newKey), newKey, oldKeyId);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.insertInto('audit_events').values(forged as never).execute();
      });
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.insertInto('audit_events').values((await forgedRow(trx, 5, sampleEvent(5), newKey)) as never).execute();
      });
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 4, 'hash_mismatch']);
    });

    it('a record after the hand-over sealed with the old key (leaked) is detected, and the database refuses to append one', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring);
      const oldKey = instance.deps.key;
      assert.equal(oldKey.id, 'audit-chain');
      // Appended at the head, through the application's role: refused by the append trigger.
      const atHead = await forgedRow(db, 8, sampleEvent(8), oldKey);
      await assert.rejects(db.insertInto('audit_events').values(atHead as never).execute(), /sealed under the key in force/);
      // Rewritten past the triggers: records 5-7 re-sealed under the old key, each linked to the one before.
      for (const seq of [5, 6, 7]) {
        const row = await forgedRow(db, seq, sampleEvent(seq + 50), oldKey);
        await asTriggerBypassingSuperuser(database(), async (trx) => {
          await trx.updateTable('audit_events').set(row as never).where('seq', '=', seq).execute();
        });
      }
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 5, 'key_mismatch']);
    });

    it('a deleted hand-over is detected where it was', async () => {
      const { db } = database();
      await rotatedChain(db, keyring);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_events').where('seq', '=', 4).execute();
      });
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 4, 'seq_gap']);
    });

    it('a hand-over replaced, with the old key, by an ordinary record leaves the records after it under a key nothing handed over to', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring);
      const records = await db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      // The attacker holds the old key and rewrites seq 4 into a plain record; record 5 is
      // re-linked to it by the attacker too (its seal under the new key cannot be redone).
      const plain = await forgedRow(db, 4, sampleEvent(4), instance.deps.key);
      const forged = { ...records[3]!, ...plain, details: JSON.parse(String(plain['details'])) as Record<string, unknown> } as AuditRecord;
      const replaced = records.map((record) => (record.seq === 4 ? forged : record.seq === 5 ? { ...record, prev_hash: forged.hash } : record));
      const result = verifyRecords(replaced, await allKeys(db, keyring), { seq: 0, hash: '0'.repeat(64), keyId: null });
      assert.deepEqual([result.ok, result.ok ? null : result.firstBrokenSeq, result.ok ? null : result.reason], [false, 5, 'key_mismatch']);
    });

    it('a hand-over whose new key was substituted (another key stored under its id) fails its commitment', async () => {
      const { db } = database();
      await rotatedChain(db, keyring);
      const records = await db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      const real = await allKeys(db, keyring);
      const substitute = generateAuditKey('audit-chain:2').key;
      const result = verifyRecords(records, (keyId) => (keyId === 'audit-chain:2' ? substitute : real(keyId)), { seq: 0, hash: '0'.repeat(64), keyId: null });
      assert.deepEqual([result.ok, result.ok ? null : result.firstBrokenSeq, result.ok ? null : result.reason], [false, 4, 'handover_invalid']);
    });

    it('a checkpoint signed with the leaked old key, added at the head, does not restart the chain under that key', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring); // 1-3 under the old key, 4 the hand-over, 5-7 under the new
      const oldKey: AuditKey = instance.deps.key;
      const seven = await recordAt(db, 7);
      const checkpoint = signCheckpoint(oldKey, { id: '01900000-0000-7000-8000-0000000000aa', through_seq: 7, through_hash: seven.hash, record_count: 0, created_at: new Date(), next_key_id: oldKey.id });
      const forged = await forgedRow(db, 8, { ...sampleEvent(99), action: 'forged.by_old_key' }, oldKey);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.insertInto('audit_checkpoints').values(checkpoint).execute();
        await trx.insertInto('audit_events').values(forged as never).execute();
      });
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 8, 'key_mismatch']);
      // An export starts from the kept records too, so the offline check sees the same.
      const exported: string[] = [];
      for await (const line of exportAuditTrail(db, { fromSeq: null, batchSize: 100 })) exported.push(line);
      assert.match(exported[0] ?? '', /"seq":0/);
    });

    it('an instance sealing under the new key refuses to follow a head forged under the leaked old one', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring); // 1-3 under the old key, 4 the hand-over, 5-7 under the new (by this instance)
      const oldKey: AuditKey = instance.deps.key;
      const forged = await forgedRow(db, 8, { ...sampleEvent(99), action: 'forged.by_old_key' }, oldKey);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.insertInto('audit_events').values(forged as never).execute();
      });
      await assert.rejects(instance.write(9), AuditKeyDowngradeError);
      assert.equal(Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 8);
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 8, 'key_mismatch']);
      // The new key's own records still append once the forged head is gone.
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_events').where('seq', '=', 8).execute();
      });
      await instance.write(8);
      assert.deepEqual([(await verifyAuditChain(db, await allKeys(db, keyring))).ok], [true]);
    });

    it('a process that cannot load the new key appends nothing rather than sealing under the old one', async () => {
      const { db } = database();
      const instance = await rotatedChain(db, keyring);
      const stale = { key: instance.deps.key, clock: steppingClock() };
      await assert.rejects(appendOne(db, stale, sampleEvent(8)), AuditKeyUnavailableError);
      const result = await verifyAuditChain(db, await allKeys(db, keyring));
      assert.deepEqual([result.ok, result.checked], [true, 7]);
    });
  });
}
