// Personal data in the audit trail (migration 0017): a record's IP address and user agent
// are covered by keyed digests, so they can be redacted in place in exactly two ways, and
// the chain still verifies, in the database and in an export:
// - cut: once a record is a day old, the address cut to its network (/24, /48) and the user
//   agent removed (IP_RETENTION_DAYS);
// - removed: both NULL, on the successful records of a person whose account is gone.
// The trigger allows nothing else (another address, half a redaction, removing data of a
// person who still exists or of someone else, a fresh record, any other column), and what
// is changed behind the trigger's back, another network included, fails verification.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import type { Schema } from '../db/schema.ts';
import { asTriggerBypassingSuperuser, changesFor, freshTrailPerTest, generateAuditKey, keyLookup } from './audit.fixtures.ts';
import { verifyExport } from './export-format.ts';
import { exportAuditTrail } from '../../features/audit-trail/export.ts';
import { networkOf } from './personal.ts';
import { redactErasedUserRecords, truncateOldAuditAddresses } from './redact.ts';
import { verifyAuditChain } from './verify.ts';

type Key = ReturnType<typeof generateAuditKey>;
const DAY = 86_400_000;
const refused = (error: unknown): boolean => error instanceof Error && /append-only/.test(error.message);

function append(db: Kysely<Schema>, key: Key, at: Date, record: { ip: string | null; userAgent: string | null; actor: string; outcome?: 'success' | 'failure'; target?: string }): Promise<void> {
  return changesFor(db, { key, clock: () => at })({ ip: record.ip, userAgent: record.userAgent, requestId: null }, ({ audit }) => {
    audit({ actor: { type: 'user', id: record.actor }, action: 'test.personal', target: { type: 'user', id: record.target ?? record.actor }, outcome: record.outcome ?? 'success' });
    return Promise.resolve();
  });
}

async function exportLines(db: Kysely<Schema>): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of exportAuditTrail(db, { fromSeq: null, batchSize: 100 })) lines.push(line.trimEnd());
  return lines;
}

async function verifies(db: Kysely<Schema>, key: Key): Promise<{ database: boolean; exported: boolean }> {
  return { database: (await verifyAuditChain(db, keyLookup(key))).ok, exported: (await verifyExport(await exportLines(db), keyLookup(key))).ok };
}

async function newUserRow(db: Kysely<Schema>): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await db.insertInto('users').values({ id, email_index: `idx-${id}`, email_ciphertext: 'x', name_ciphertext: null, password_hash: null, email_verified_at: null, created_at: now, updated_at: now }).execute();
  return id;
}

describe('the network of an address, in one spelling', () => {
  it('is the /24 of IPv4 and the /48 of IPv6, however the address is written; null for what is no address', () => {
    assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
    assert.equal(networkOf('203.0.113.0'), '203.0.113.0/24');
    assert.equal(networkOf('2001:db8:1234:5678::1'), '2001:db8:1234::/48');
    assert.equal(networkOf('2001:0DB8:1234::'), '2001:db8:1234::/48');
    assert.equal(networkOf('0:0:1::'), '0:0:1::/48');
    assert.equal(networkOf('::'), '0:0:0::/48');
    assert.equal(networkOf('not an address'), null);
    assert.equal(networkOf(null), null);
  });
});

for (const engine of testEngines()) {
  describe(`personal data in the audit trail on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    it('an erased person\'s successful records lose their address and user agent; others\' records about them keep theirs', async () => {
      const { db } = database();
      const key = generateAuditKey();
      const person = await newUserRow(db);
      const admin = randomUUID();
      await append(db, key, new Date(), { ip: '203.0.113.77', userAgent: 'Browser/1.0', actor: person });
      await append(db, key, new Date(), { ip: '198.51.100.9', userAgent: 'Guesser/1.0', actor: person, outcome: 'failure' });
      await append(db, key, new Date(), { ip: '192.0.2.44', userAgent: 'AdminBrowser/1.0', actor: admin, target: person });
      // While the account exists, nothing of it can be removed.
      await assert.rejects(redactErasedUserRecords(db, person), refused);
      await db.deleteFrom('users').where('id', '=', person).execute();
      assert.equal(await redactErasedUserRecords(db, person), 1);
      const rows = await db.selectFrom('audit_events').select(['ip', 'user_agent']).orderBy('seq').execute();
      assert.deepEqual(rows, [
        { ip: null, user_agent: null },
        { ip: '198.51.100.9', user_agent: 'Guesser/1.0' },
        { ip: '192.0.2.44', user_agent: 'AdminBrowser/1.0' },
      ]);
      assert.deepEqual(await verifies(db, key), { database: true, exported: true });
    });

    it('records older than the cut-off are cut to their network once, in seq order; the chain still verifies', async () => {
      const { db } = database();
      const key = generateAuditKey();
      const old = new Date(Date.now() - 40 * DAY);
      await append(db, key, old, { ip: '203.0.113.77', userAgent: 'Browser/1.0', actor: 'a' });
      await append(db, key, old, { ip: '2001:db8:1234:5678::1', userAgent: 'Browser/1.0', actor: 'b' });
      await append(db, key, new Date(), { ip: '192.0.2.9', userAgent: 'Recent/1.0', actor: 'c' });
      const cutoff = new Date(Date.now() - 30 * DAY);
      assert.equal(await truncateOldAuditAddresses(db, cutoff, 100), 2);
      assert.equal(await truncateOldAuditAddresses(db, cutoff, 100), 0, 'nothing left to cut, and the cut part is not read again');
      const rows = await db.selectFrom('audit_events').select(['ip', 'user_agent']).orderBy('seq').execute();
      assert.deepEqual(rows, [{ ip: '203.0.113.0', user_agent: null }, { ip: '2001:db8:1234::', user_agent: null }, { ip: '192.0.2.9', user_agent: 'Recent/1.0' }]);
      assert.deepEqual(await verifies(db, key), { database: true, exported: true });
    });

    it('the trigger refuses every other change: another address, half a redaction, a fresh record, another column', async () => {
      const { db } = database();
      const key = generateAuditKey();
      await append(db, key, new Date(Date.now() - 2 * DAY), { ip: '203.0.113.77', userAgent: 'Browser/1.0', actor: 'someone' });
      await append(db, key, new Date(), { ip: '203.0.113.78', userAgent: 'Browser/1.0', actor: 'someone' });
      const [older, fresh] = (await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((row) => row.seq);
      const at = (seq: number | undefined) => db.updateTable('audit_events').where('seq', '=', seq ?? -1);
      await assert.rejects(at(older).set({ ip: '198.51.100.7', user_agent: null }).execute(), refused);
      await assert.rejects(at(older).set({ ip: '198.51.100.0', user_agent: null }).execute(), refused, 'another network');
      await assert.rejects(at(older).set({ ip: sql<string>`audit_truncate_ip(ip)` }).execute(), refused, 'the user agent kept');
      await assert.rejects(at(older).set({ ip: null, user_agent: null }).execute(), refused, 'removal needs an erased person');
      await assert.rejects(at(older).set({ ip: sql<string>`audit_truncate_ip(ip)`, user_agent: null, outcome: 'failure' }).execute(), refused);
      await assert.rejects(at(older).set({ personal_digest: null }).execute(), refused);
      await assert.rejects(at(fresh).set({ ip: sql<string>`audit_truncate_ip(ip)`, user_agent: null }).execute(), refused, 'a record less than a day old');
      await at(older).set({ ip: sql<string>`audit_truncate_ip(ip)`, user_agent: null }).execute();
      assert.equal((await db.selectFrom('audit_events').select('ip').where('seq', '=', older ?? -1).executeTakeFirstOrThrow()).ip, '203.0.113.0');
    });

    it('what is changed behind the trigger\'s back fails verification, another network included; a malformed export line is reported, not thrown', async () => {
      const test = database();
      const key = generateAuditKey();
      await append(test.db, key, new Date(), { ip: '203.0.113.77', userAgent: 'Browser/1.0', actor: 'someone' });
      await append(test.db, key, new Date(), { ip: '203.0.113.78', userAgent: 'Browser/1.0', actor: 'someone' });
      const second = (await test.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').executeTakeFirstOrThrow()).seq;
      for (const forged of [{ ip: '198.51.100.7', user_agent: 'Browser/1.0' }, { ip: '198.51.100.0', user_agent: null }, { ip: '203.0.113.78', user_agent: 'Other/1.0' }]) {
        await asTriggerBypassingSuperuser(test, async (trx) => {
          await trx.updateTable('audit_events').set(forged).where('seq', '=', second).execute();
        });
        const verification = await verifyAuditChain(test.db, keyLookup(key));
        assert.deepEqual({ ok: verification.ok, seq: verification.firstBrokenSeq, reason: verification.reason }, { ok: false, seq: second, reason: 'personal_data_mismatch' }, JSON.stringify(forged));
      }
      // An export whose first record's address is not even text: reported at that record.
      const lines = await exportLines(test.db);
      const malformed = lines.map((line) => line.replace('"ip":"203.0.113.77"', '"ip":5'));
      assert.notDeepEqual(malformed, lines);
      const result = await verifyExport(malformed, keyLookup(key));
      assert.deepEqual({ ok: result.ok, seq: result.firstBrokenSeq }, { ok: false, seq: second - 1 });
    });
  });
}
