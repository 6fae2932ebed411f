// Attacks on the audit trail, each test named after the one it blocks. The attacker
// of interest holds write access to the database (a compromised app role, or an
// operator), but not the HMAC key, which lives wrapped outside the database.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Database } from '../db/database.ts';
import { AuditKeyUnavailableError, appendAuditEvent, createChainHeadCache } from './append.ts';
import { canonicalContent } from './canonical.ts';
import { isSecretKey } from './details.ts';
import { AuditInputError } from './errors.ts';
import {
  changesFor,
  NO_CONTEXT,
  appendMany,
  appendOne,
  asTriggerBypassingSuperuser,
  freshTrailPerTest,
  generateAuditKey,
  keyLookup,
  sampleEvent,
  testDeps,
  untouchableTransaction,
} from './audit.fixtures.ts';
import { computeAuditHash } from './seal.ts';
import type { AuditRecord } from './types.ts';
import { verifyAuditChain } from './verify.ts';

async function recordAt(database: Database, seq: number): Promise<AuditRecord> {
  return database.db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

function isAppendOnlyRefusal(error: unknown): boolean {
  return error instanceof Error && /append-only/.test(error.message);
}

for (const engine of testEngines()) {
  describe(`audit trail attacks on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    it('an UPDATE, a DELETE or a TRUNCATE of audit records is rejected by the database itself', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 3);
      const { db } = database();
      await assert.rejects(db.updateTable('audit_events').set({ outcome: 'success' }).where('seq', '=', 3).execute(), isAppendOnlyRefusal);
      await assert.rejects(db.deleteFrom('audit_events').where('seq', '=', 2).execute(), isAppendOnlyRefusal);
      await assert.rejects(sql`TRUNCATE audit_events`.execute(db), isAppendOnlyRefusal);
      const rows = await db.selectFrom('audit_events').select(['seq', 'outcome']).orderBy('seq').execute();
      assert.deepEqual(rows, [
        { seq: 1, outcome: 'success' },
        { seq: 2, outcome: 'success' },
        { seq: 3, outcome: 'failure' },
      ]);
      assert.equal((await verifyAuditChain(db, keyLookup(deps.key))).ok, true);
    });

    it('a record altered by a superuser who bypasses the triggers is found at its seq', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 5);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.updateTable('audit_events').set({ outcome: 'success' }).where('seq', '=', 3).execute();
      });
      assert.equal((await recordAt(database(), 3)).outcome, 'success', 'the tampering took effect');
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason, result.checked], [false, 3, 'hash_mismatch', 2]);
    });

    it('a record deleted from the middle of the trail is found as a seq gap', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 5);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.deleteFrom('audit_events').where('seq', '=', 3).execute();
      });
      const result = await verifyAuditChain(database().db, keyLookup(deps.key), { batchSize: 2 });
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason, result.checked], [false, 3, 'seq_gap', 2]);
    });

    it('a record forged with a recomputed plain SHA-256, and its successor relinked, is found', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 4);
      const victim = await recordAt(database(), 2);
      // The attacker rewrites the record and reseals the chain with every digest they can compute.
      const forged = { ...victim, outcome: 'success' as const, details: { note: 'nothing happened' } };
      const forgedHash = createHash('sha256').update(`${forged.prev_hash}\n${canonicalContent(forged)}`).digest('hex');
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.updateTable('audit_events').set({ outcome: forged.outcome, details: JSON.stringify(forged.details), hash: forgedHash }).where('seq', '=', 2).execute();
        await trx.updateTable('audit_events').set({ prev_hash: forgedHash }).where('seq', '=', 3).execute();
      });
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 2, 'hash_mismatch']);
    });

    it('records reordered by swapping their seq are found where the order breaks', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 4);
      await asTriggerBypassingSuperuser(database(), async (trx) => {
        await trx.updateTable('audit_events').set({ seq: -1 }).where('seq', '=', 2).execute();
        await trx.updateTable('audit_events').set({ seq: 2 }).where('seq', '=', 3).execute();
        await trx.updateTable('audit_events').set({ seq: 3 }).where('seq', '=', -1).execute();
      });
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 2, 'prev_mismatch']);
    });

    it('a record appended by someone without the key (INSERT is allowed) is found', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 2);
      const last = await recordAt(database(), 2);
      // Correct seq, correct link, the real key id: only the key itself is missing.
      const content = { ...last, seq: 3, id: '01900000-0000-7000-8000-000000000003', action: 'user.promote', prev_hash: last.hash };
      const hash = computeAuditHash(generateAuditKey(deps.key.id).key, content);
      await database().db.insertInto('audit_events').values({ ...content, details: JSON.stringify(content.details), hash }).execute();
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 3, 'hash_mismatch']);
    });

    it('a record back-filled below the head (seq 0, -1, or an old seq) is refused by the database', async () => {
      const deps = testDeps();
      await appendMany(database().db, deps, 3);
      const last = await recordAt(database(), 3);
      for (const seq of [0, -1, 2]) {
        const content = { ...last, seq, id: `01900000-0000-7000-8000-00000000010${String(Math.abs(seq))}`, action: 'user.promote' };
        await assert.rejects(
          database().db.insertInto('audit_events').values({ ...content, details: JSON.stringify(content.details) }).execute(),
          /only grows at its head/,
          `seq ${seq}`,
        );
      }
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.checked], [true, 3]);
    });

    it('a record sealed under a key id the verifier does not hold is refused, not trusted', async () => {
      const deps = testDeps();
      // At the start of a chain no key is in force yet, so only the verifier can refuse it.
      await appendOne(database().db, testDeps(generateAuditKey('attacker-key')), sampleEvent(1));
      const result = await verifyAuditChain(database().db, keyLookup(deps.key));
      assert.deepEqual([result.ok, result.firstBrokenSeq, result.reason], [false, 1, 'unknown_key']);
      // After it, a record under another key than the one in force is not even appended.
      await assert.rejects(appendOne(database().db, deps, sampleEvent(2)), AuditKeyUnavailableError);
    });

    it('50 concurrent appends cannot fork or gap the chain', async () => {
      const deps = testDeps();
      const appended = await Promise.all(Array.from({ length: 50 }, (_, n) => appendOne(database().db, deps, sampleEvent(n))));
      assert.deepEqual(appended.map((entry) => entry.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
      assert.deepEqual(await verifyAuditChain(database().db, keyLookup(deps.key), { batchSize: 16 }), {
        ok: true,
        checked: 50,
        firstBrokenSeq: null,
        head: { seq: 50, hash: (await recordAt(database(), 50)).hash, keyId: deps.key.id },
      });
    });

    it('50 concurrent audited changes from two instances, each with its own head cache, cannot fork or gap the chain', async () => {
      const key = generateAuditKey();
      const instances = [{ ...testDeps(key), headCache: createChainHeadCache() }, { ...testDeps(key), headCache: createChainHeadCache() }];
      const changes = instances.map((instance) => changesFor(database().db, instance));
      const seqs = await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          changes[n % 2]!(NO_CONTEXT, async ({ trx, audit }) => {
            const appended = await appendAuditEvent(trx, instances[n % 2]!, sampleEvent(n));
            audit(sampleEvent(n + 100));
            return appended.seq;
          }),
        ),
      );
      assert.equal(new Set(seqs).size, 50);
      const result = await verifyAuditChain(database().db, keyLookup(key));
      assert.deepEqual([result.ok, result.checked], [true, 100]);
    });

    it('a stale head guess (its append rolled back, or another instance appended since) cannot fork or gap the chain', async () => {
      const key = generateAuditKey();
      const first = { ...testDeps(key), headCache: createChainHeadCache() };
      const second = { ...testDeps(key), headCache: createChainHeadCache() };
      await appendOne(database().db, first, sampleEvent(1));
      await appendOne(database().db, second, sampleEvent(2));
      // `first` still believes seq 1 is the head.
      assert.equal((await appendOne(database().db, first, sampleEvent(3))).seq, 3);
      await assert.rejects(
        database().db.transaction().execute(async (trx) => {
          await appendAuditEvent(trx, first, sampleEvent(4));
          throw new Error('the change fails');
        }),
      );
      // `first` now believes in a seq 4 that was rolled back...
      assert.equal(first.headCache.current?.seq, 4);
      // ...and another instance writes a different seq 4, so only the hash tells them apart.
      assert.equal((await appendOne(database().db, second, sampleEvent(5))).seq, 4);
      assert.equal((await appendOne(database().db, first, sampleEvent(6))).seq, 5);
      const result = await verifyAuditChain(database().db, keyLookup(key));
      assert.deepEqual([result.ok, result.checked], [true, 5]);
    });

    it('an attacker-supplied value (NUL, lone surrogate, 100 kB) cannot keep a failed login out of the trail', async () => {
      const deps = testDeps();
      const hostile = `admin\u0000\uD800${'A'.repeat(100_000)}`;
      const appended = await appendOne(database().db, deps, {
        actor: { type: 'anonymous', id: hostile },
        action: 'login.password',
        outcome: 'failure',
        userAgent: hostile,
        requestId: hostile,
        details: { username: hostile, tried: [hostile] },
      });
      assert.equal(appended.seq, 1);
      const stored = await recordAt(database(), 1);
      assert.equal(stored.details['username'], `admin\uFFFD\uFFFD${'A'.repeat(505)}`);
      assert.equal((await verifyAuditChain(database().db, keyLookup(deps.key))).ok, true);
    });
  });
}

describe('audit trail secrets', () => {
  const deps = testDeps();

  it('a password, token, secret or one-time code passed in details is refused before it can be written', async () => {
    const leaks: Record<string, unknown>[] = [
      { password: 'hunter2' },
      { newPassword: 'hunter2' },
      { access_token: 'eyJ...' },
      { refreshToken: 'r' },
      { client_secret: 's' },
      { code: '123456' },
      { recovery_codes: ['a', 'b'] },
      { totp: '123456' },
      { request: { headers: { Authorization: 'Bearer x', Cookie: 'sid=1' } } },
      { steps: [{ ok: true }, { otp: '000000' }] },
    ];
    const { trx, touches } = untouchableTransaction();
    for (const details of leaks) {
      await assert.rejects(
        appendAuditEvent(trx, deps, { ...sampleEvent(1), details }),
        (error: unknown) => error instanceof AuditInputError && error.code === 'forbidden_key' && !error.message.includes('hunter2'),
        JSON.stringify(details),
      );
    }
    assert.equal(touches(), 0);
  });

  it('harmless keys that merely contain the letters of a secret word are accepted', () => {
    for (const key of ['footprint', 'spinner', 'passkey_id', 'country', 'key_id', 'session_id', 'reason']) assert.equal(isSecretKey(key), false, key);
  });
});
