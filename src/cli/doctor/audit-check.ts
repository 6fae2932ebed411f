// The audit chain verifies, with the verifier `gatehouse audit verify` uses. Its cost
// grows with the chain (about one keyed hash per record, read in batches of 1000), so
// the finding says how many records it walked and how long that took; after
// `gatehouse audit prune` the walk starts at the newest checkpoint. It verifies with every
// stored audit key version, and warns when a key rotation stopped before its hand-over.
import type { ChainVerification } from '../../core/audit/verify.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { AUDIT_KEY_PURPOSE, auditKeyVersion, loadAuditKeyLookup } from '../../core/audit/keys.ts';
import type { DB } from '../../core/db/database.ts';
import { fail, pass, warn, type Check, type Finding } from './types.ts';

/**
 * `pending`: stored audit key versions newer than the one in force, which no hand-over
 * names yet: a `gatehouse keys rotate-audit` that stopped after creating its key.
 */
export function judgeAuditChain(result: ChainVerification, ms: number, pending: readonly string[] = []): Finding {
  const took = `${(ms / 1000).toFixed(1)} s`;
  if (result.ok && pending.length > 0) {
    return warn(
      `intact: ${result.checked} records verified in ${took}, but a key rotation is unfinished: ${pending.join(', ')} stored, not yet handed over to`,
      'run `gatehouse keys rotate-audit` again: it hands over to the pending key (docs/operations.md "Rotating the audit key")',
    );
  }
  if (result.ok) return pass(`intact: ${result.checked} records verified in ${took}, head seq ${result.head.seq}`);
  return fail(
    `BROKEN at seq ${String(result.firstBrokenSeq)} (${result.reason ?? 'unknown'}) after ${result.checked} good records`,
    'keep the database as it is (it is the evidence); `gatehouse audit verify` names the record; compare with your last export (docs/operations.md "Audit trail")',
  );
}

/** Stored audit key ids newer than the one in force at the head. */
async function pendingKeys(db: DB, inForce: string | null): Promise<string[]> {
  const current = inForce === null ? 1 : auditKeyVersion(inForce);
  if (current === null) return [];
  const rows = await db.selectFrom('system_keys').select('id').where('purpose', '=', AUDIT_KEY_PURPOSE).execute();
  return rows.map((row) => row.id).filter((id) => (auditKeyVersion(id) ?? 0) > current).sort();
}

export const auditChainCheck: Check = {
  name: 'audit-chain',
  dependsOn: ['migrations', 'master-key'],
  async run(context) {
    const { db } = await context.database();
    // Without a master key nothing was ever wrapped, so there is no audit key either (verified: any record then fails as unknown_key).
    // Every stored version: a chain spanning key rotations needs each.
    const keys = (await context.masterKeys()).length === 0 ? () => null : await loadAuditKeyLookup(db, await context.keyring());
    const started = performance.now();
    const result = await verifyAuditChain(db, keys);
    return judgeAuditChain(result, performance.now() - started, await pendingKeys(db, result.head.keyId ?? null));
  },
};
