import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Transaction } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Schema } from '../db/schema.ts';
import { appendAuditEvent, createChainHeadCache } from './append.ts';
import { canonicalContent } from './canonical.ts';
import { MAX_DETAILS_BYTES } from './details.ts';
import { AuditInputError } from './errors.ts';
import { appendMany, appendOne, changesFor, NO_CONTEXT, freshTrailPerTest, generateAuditKey, handoverEvent, keyLookup, sampleEvent, testDeps, untouchableTransaction } from './audit.fixtures.ts';
import { GENESIS, GENESIS_HASH, type AuditRecord } from './types.ts';
import { verifyAuditChain, verifyRecords } from './verify.ts';

for (const engine of testEngines()) {
  describe(`audit trail on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    it('numbers records 1..n, each sealing the hash of the one before', async () => {
      const deps = testDeps();
      const appended = await appendMany(database().db, deps, 5);
      const rows = await database().db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      assert.deepEqual(rows.map((row) => row.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(appended.map((entry) => entry.seq), [1, 2, 3, 4, 5]);
      assert.equal(rows[0]!.prev_hash, GENESIS_HASH);
      for (let i = 1; i < rows.length; i += 1) assert.equal(rows[i]!.prev_hash, rows[i - 1]!.hash);
      assert.deepEqual(rows.map((row) => row.hash), appended.map((entry) => entry.hash));
      assert.equal(rows[0]!.key_id, deps.key.id);
      assert.deepEqual(await verifyAuditChain(database().db, keyLookup(deps.key)), {
        ok: true,
        checked: 5,
        firstBrokenSeq: null,
        head: { seq: 5, hash: rows[4]!.hash, keyId: deps.key.id },
      });
    });

    it('verifies an empty trail', async () => {
      const result = await verifyAuditChain(database().db, () => null);
      assert.deepEqual(result, { ok: true, checked: 0, firstBrokenSeq: null, head: GENESIS });
    });

    it('rolls back a change and its audit record together, leaving no gap', async () => {
      const deps = testDeps();
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          await trx
            .insertInto('system_keys')
            .values({ id: 'probe', purpose: 'test', master_key_id: 'm1', wrapped_key: 'x' })
            .execute();
          await appendAuditEvent(trx, deps, sampleEvent(1));
          throw new Error('the change fails after its record was appended');
        }),
        /the change fails/,
      );
      assert.equal((await database().db.selectFrom('system_keys').selectAll().execute()).length, 0);
      assert.equal((await database().db.selectFrom('audit_events').selectAll().execute()).length, 0);
      const next = await appendOne(database().db, deps, sampleEvent(2));
      assert.equal(next.seq, 1);
      assert.equal((await verifyAuditChain(database().db, keyLookup(deps.key))).ok, true);
    });

    it('a change commits with its record and returns the value', async () => {
      const deps = { ...testDeps(), headCache: createChainHeadCache() };
      const value = await changesFor(database().db, deps)(NO_CONTEXT, async ({ trx, audit }) => {
        await trx.insertInto('system_keys').values({ id: 'k1', purpose: 'test', master_key_id: 'm1', wrapped_key: 'x' }).execute();
        audit({ ...sampleEvent(1), action: 'keys.create', target: { type: 'system_key', id: 'k1' } });
        return 'k1';
      });
      assert.equal(value, 'k1');
      assert.equal((await database().db.selectFrom('system_keys').selectAll().execute()).length, 1);
      const records = await database().db.selectFrom('audit_events').select(['seq', 'action', 'target_id']).execute();
      assert.deepEqual(records, [{ seq: 1, action: 'keys.create', target_id: 'k1' }]);
      assert.equal((await verifyAuditChain(database().db, keyLookup(deps.key))).ok, true);
    });

    it('a change that throws is rolled back and writes no record', async () => {
      const deps = testDeps();
      await assert.rejects(
        changesFor(database().db, deps)(NO_CONTEXT, async ({ trx, audit }) => {
          audit(sampleEvent(1));
          await trx.insertInto('system_keys').values({ id: 'k1', purpose: 'test', master_key_id: 'm1', wrapped_key: 'x' }).execute();
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.equal((await database().db.selectFrom('system_keys').selectAll().execute()).length, 0);
      assert.equal((await database().db.selectFrom('audit_events').selectAll().execute()).length, 0);
    });

    it('stores the optional fields as null and the details as given', async () => {
      const deps = testDeps();
      await appendOne(database().db, deps, { actor: { type: 'system' }, action: 'keys.rotate', outcome: 'success' });
      await appendOne(database().db, deps, sampleEvent(7));
      const [bare, full] = await database().db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      assert.deepEqual(
        [bare!.actor_id, bare!.target_type, bare!.target_id, bare!.ip, bare!.user_agent, bare!.request_id, bare!.details],
        [null, null, null, null, null, null, {}],
      );
      assert.deepEqual(full!.details, sampleEvent(7).details);
      assert.equal(full!.occurred_at instanceof Date, true);
    });

    it('walks the chain in batches and from a given seq', async () => {
      const deps = testDeps();
      const appended = await appendMany(database().db, deps, 7);
      const keys = keyLookup(deps.key);
      const head = { seq: 7, hash: appended[6]!.hash, keyId: deps.key.id };
      assert.deepEqual(await verifyAuditChain(database().db, keys, { batchSize: 2 }), { ok: true, checked: 7, firstBrokenSeq: null, head });
      assert.deepEqual(await verifyAuditChain(database().db, keys, { batchSize: 7 }), { ok: true, checked: 7, firstBrokenSeq: null, head });
      assert.deepEqual(await verifyAuditChain(database().db, keys, { fromSeq: 4, batchSize: 3 }), { ok: true, checked: 4, firstBrokenSeq: null, head });
      await assert.rejects(verifyAuditChain(database().db, keys, { batchSize: 0 }), RangeError);
    });

    it('verifies records sealed under a rotated key, and names a key it cannot find', async () => {
      const oldKey = generateAuditKey('audit-2030-01');
      const newKey = generateAuditKey('audit-2030-02');
      await appendMany(database().db, testDeps(oldKey), 2);
      await appendOne(database().db, testDeps(oldKey), handoverEvent(oldKey, newKey));
      await appendOne(database().db, testDeps(newKey), sampleEvent(4));
      assert.equal((await verifyAuditChain(database().db, keyLookup(oldKey, newKey))).ok, true);
      const withoutNew = await verifyAuditChain(database().db, keyLookup(oldKey));
      assert.deepEqual([withoutNew.ok, withoutNew.firstBrokenSeq, withoutNew.reason, withoutNew.checked], [false, 3, 'unknown_key', 2]);
    });

    it('verifies an NDJSON export offline with the same code', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 4);
      const rows = await database().db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      const ndjson = rows.map((row) => JSON.stringify(row)).join('\n');
      const records = ndjson.split('\n').map((line) => JSON.parse(line) as AuditRecord);
      assert.equal(verifyRecords(records, keyLookup(deps.key), GENESIS).ok, true);
      assert.equal(verifyRecords(records.slice(2), keyLookup(deps.key), { seq: 2, hash: rows[1]!.hash }).ok, true);
      const mangled = records.map((record, i) => (i === 1 ? { ...record, occurred_at: 42 as unknown as string } : record));
      assert.deepEqual(verifyRecords(mangled, keyLookup(deps.key), GENESIS), {
        ok: false,
        checked: 1,
        firstBrokenSeq: 2,
        reason: 'hash_mismatch',
        head: { seq: 1, hash: rows[0]!.hash, keyId: deps.key.id },
      });
    });

    it('re-serializes whatever details went in byte-identically after the database round trip', async () => {
      const deps = testDeps();
      const key = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((text) => !/pass|secret|token|cred|key|cookie|auth|code|otp|pin|pwd|jwt|proto/i.test(text));
      const details = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
      let appended = 0;
      await fc.assert(
        fc.asyncProperty(details, async (value) => {
          try {
            await appendOne(database().db, deps, { actor: { type: 'user', id: 'u' }, action: 'probe', outcome: 'success', details: value });
            appended += 1;
          } catch (error) {
            // Only a refusal before the database is acceptable, never a failed insert.
            assert.ok(error instanceof AuditInputError, String(error));
          }
        }),
        // About 62% of these random details are storable (the rest are refused before the
        // database, as they should be). 120 runs keep the required half well clear of
        // chance: with 40 runs, fewer than 20 storable happened about once in 16 runs.
        { numRuns: 120 },
      );
      assert.ok(appended >= 60, `only ${appended} of 120 random details were storable`);
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.checked], [true, appended]);
    });
  });
}

describe('audit input', () => {
  const deps = testDeps();
  const { trx: offline } = untouchableTransaction();
  const notATransaction = new Proxy({}, { get: () => false }) as unknown as Transaction<Schema>;

  it('refuses details over the size cap before touching the database', async () => {
    const details = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`field_${i}`, 'x'.repeat(400)]));
    await assert.rejects(
      appendAuditEvent(offline, deps, { ...sampleEvent(1), details }),
      (error: unknown) => error instanceof AuditInputError && error.code === 'details_too_large' && error.message.includes(String(MAX_DETAILS_BYTES)),
    );
  });

  it('refuses to run outside a transaction', async () => {
    await assert.rejects(appendAuditEvent(notATransaction, deps, sampleEvent(1)), (error: unknown) => error instanceof AuditInputError && error.code === 'not_in_transaction');
  });

  it('refuses details that are not plain JSON', async () => {
    for (const details of [{ when: new Date() }, { n: Number.NaN }, { big: 1n }, { list: [undefined] }]) {
      await assert.rejects(
        appendAuditEvent(offline, deps, { ...sampleEvent(1), details }),
        (error: unknown) => error instanceof AuditInputError && error.code === 'details_not_json',
      );
    }
  });

  it('refuses an action or actor type outside the event vocabulary', async () => {
    for (const event of [{ ...sampleEvent(1), action: 'Login Attempt' }, { ...sampleEvent(1), actor: { type: '' } }]) {
      await assert.rejects(appendAuditEvent(offline, deps, event), (error: unknown) => error instanceof AuditInputError && error.code === 'invalid_field');
    }
  });

  it('serializes content canonically: keys sorted at every depth, time in ISO with milliseconds', () => {
    const base = {
      seq: 1, id: 'i', actor_type: 'user', actor_id: null, action: 'a', target_type: null, target_id: null, outcome: 'success' as const,
      ip: null, user_agent: null, request_id: null, key_id: 'k', prev_hash: GENESIS_HASH,
    };
    const one = canonicalContent({ ...base, occurred_at: new Date(Date.UTC(2030, 0, 1)), details: { b: { y: 1, x: [2, { d: 1, c: 0 }] }, a: 'é' } });
    const two = canonicalContent({ ...base, occurred_at: '2030-01-01T00:00:00.000Z', details: { a: 'é', b: { x: [2, { c: 0, d: 1 }], y: 1 } } });
    assert.equal(one, two);
    assert.match(one, /^\{"action":"a","actor_id":null,"actor_type":"user","details":\{"a":"é","b":\{"x":\[2,\{"c":0,"d":1\}\],"y":1\}\},"id":"i",/);
    assert.match(one, /"occurred_at":"2030-01-01T00:00:00\.000Z"/);
  });
});
