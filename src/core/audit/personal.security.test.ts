// Personal data in the audit trail (migration 0017): a record's IP address and user agent
// are covered by a keyed digest, so they can be redacted in place (removed, or the address
// cut to its network, the user agent removed) and the chain still verifies, in the
// database and in an export; the append-only trigger allows nothing else (another
// address, half a redaction, any other column); and an
// address changed behind the trigger's back is reported as tampering.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import { asTriggerBypassingSuperuser, changesFor, freshTrailPerTest, generateAuditKey, keyLookup } from './audit.fixtures.ts';
import { verifyExport } from './export-format.ts';
import { exportAuditTrail } from '../../features/audit-trail/export.ts';
import { redactPersonalDataAbout, truncateOldAuditAddresses } from './redact.ts';
import { verifyAuditChain } from './verify.ts';

const USER = '0190a4c2-0000-7000-8000-00000000abcd';

function appendAs(db: Parameters<typeof changesFor>[0], key: ReturnType<typeof generateAuditKey>, at: Date, context: { ip: string; userAgent: string }, target: string): Promise<void> {
  return changesFor(db, { key, clock: () => at })({ ...context, requestId: null }, ({ audit }) => {
    audit({ actor: { type: 'user', id: target }, action: 'auth.login_succeeded', target: { type: 'user', id: target }, outcome: 'success' });
    return Promise.resolve();
  });
}

async function exportVerifies(db: Parameters<typeof changesFor>[0], key: ReturnType<typeof generateAuditKey>): Promise<boolean> {
  const lines: string[] = [];
  for await (const line of exportAuditTrail(db, { fromSeq: null, batchSize: 100 })) lines.push(line.trimEnd());
  return (await verifyExport(lines, keyLookup(key))).ok;
}

for (const engine of testEngines()) {
  describe(`personal data in the audit trail on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    it('is redacted in place for an erased user, and the chain still verifies, in the database and exported', async () => {
      const { db } = database();
      const key = generateAuditKey();
      await appendAs(db, key, new Date(), { ip: '203.0.113.77', userAgent: 'Browser/1.0' }, USER);
      await appendAs(db, key, new Date(), { ip: '198.51.100.5', userAgent: 'Other/2.0' }, 'someone-else');
      assert.equal(await redactPersonalDataAbout(db, USER), 1);
      const rows = await db.selectFrom('audit_events').select(['target_id', 'ip', 'user_agent', 'personal_digest']).orderBy('seq').execute();
      assert.deepEqual(rows.map((row) => [row.target_id, row.ip, row.user_agent]), [[USER, null, null], ['someone-else', '198.51.100.5', 'Other/2.0']]);
      assert.ok(rows.every((row) => row.personal_digest !== null && /^[0-9a-f]{64}$/.test(row.personal_digest)));
      assert.equal((await verifyAuditChain(db, keyLookup(key))).ok, true);
      assert.equal(await exportVerifies(db, key), true);
    });

    it('cuts old addresses to their network (/24, /48) and removes user agents; the chain still verifies', async () => {
      const { db } = database();
      const key = generateAuditKey();
      const old = new Date(Date.now() - 40 * 86_400_000);
      await appendAs(db, key, old, { ip: '203.0.113.77', userAgent: 'Browser/1.0' }, 'a');
      await appendAs(db, key, old, { ip: '2001:db8:1234:5678::1', userAgent: 'Browser/1.0' }, 'b');
      await appendAs(db, key, new Date(), { ip: '192.0.2.9', userAgent: 'Recent/1.0' }, 'c');
      assert.equal(await truncateOldAuditAddresses(db, new Date(Date.now() - 30 * 86_400_000), 100), 2);
      assert.equal(await truncateOldAuditAddresses(db, new Date(Date.now() - 30 * 86_400_000), 100), 0, 'nothing left to cut');
      const rows = await db.selectFrom('audit_events').select(['ip', 'user_agent']).orderBy('seq').execute();
      assert.deepEqual(rows, [{ ip: '203.0.113.0', user_agent: null }, { ip: '2001:db8:1234::', user_agent: null }, { ip: '192.0.2.9', user_agent: 'Recent/1.0' }]);
      assert.equal((await verifyAuditChain(db, keyLookup(key))).ok, true);
      assert.equal(await exportVerifies(db, key), true);
    });

    it('the trigger allows a redaction only: another address, or any other column, is refused', async () => {
      const { db } = database();
      const key = generateAuditKey();
      await appendAs(db, key, new Date(), { ip: '203.0.113.77', userAgent: 'Browser/1.0' }, USER);
      const refused = (error: unknown): boolean => error instanceof Error && /append-only/.test(error.message);
      await assert.rejects(db.updateTable('audit_events').set({ ip: '198.51.100.7' }).execute(), refused);
      await assert.rejects(db.updateTable('audit_events').set({ user_agent: 'Forged/1.0' }).execute(), refused);
      await assert.rejects(db.updateTable('audit_events').set({ ip: null, outcome: 'failure' }).execute(), refused);
      await assert.rejects(db.updateTable('audit_events').set({ personal_digest: null }).execute(), refused);
      // Half a redaction (the user agent kept, or the address kept) is refused too: verification could not tell it from tampering.
      await assert.rejects(db.updateTable('audit_events').set({ ip: sql<string>`audit_truncate_ip(ip)` }).execute(), refused);
      await assert.rejects(db.updateTable('audit_events').set({ user_agent: null }).execute(), refused);
      await db.updateTable('audit_events').set({ ip: sql<string>`audit_truncate_ip(ip)`, user_agent: null }).execute();
      assert.equal((await db.selectFrom('audit_events').select('ip').executeTakeFirstOrThrow()).ip, '203.0.113.0');
    });

    it('an address changed behind the trigger\'s back breaks verification at that record', async () => {
      const database_ = database();
      const key = generateAuditKey();
      await appendAs(database_.db, key, new Date(), { ip: '203.0.113.77', userAgent: 'Browser/1.0' }, USER);
      await appendAs(database_.db, key, new Date(), { ip: '203.0.113.78', userAgent: 'Browser/1.0' }, USER);
      const second = await database_.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').executeTakeFirstOrThrow();
      await asTriggerBypassingSuperuser(database_, async (trx) => {
        await trx.updateTable('audit_events').set({ ip: '198.51.100.7' }).where('seq', '=', second.seq).execute();
      });
      const verification = await verifyAuditChain(database_.db, keyLookup(key));
      assert.deepEqual({ ok: verification.ok, seq: verification.firstBrokenSeq, reason: verification.reason }, { ok: false, seq: second.seq, reason: 'personal_data_mismatch' });
      assert.equal(await exportVerifies(database_.db, key), false);
    });
  });
}
