// The audit chain verifies, with the verifier `gatehouse audit verify` uses. Its cost
// grows with the chain (about one keyed hash per record, read in batches of 1000), so
// the finding says how many records it walked and how long that took; after
// `gatehouse audit prune` the walk starts at the newest checkpoint.
import type { ChainVerification } from '../../core/audit/verify.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { loadAuditKeyLookup } from '../../core/audit/keys.ts';
import { fail, pass, type Check, type Finding } from './types.ts';

export function judgeAuditChain(result: ChainVerification, ms: number): Finding {
  const took = `${(ms / 1000).toFixed(1)} s`;
  if (result.ok) return pass(`intact: ${result.checked} records verified in ${took}, head seq ${result.head.seq}`);
  return fail(
    `BROKEN at seq ${String(result.firstBrokenSeq)} (${result.reason ?? 'unknown'}) after ${result.checked} good records`,
    'keep the database as it is (it is the evidence); `gatehouse audit verify` names the record; compare with your last export (docs/operations.md "Audit trail")',
  );
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
    return judgeAuditChain(result, performance.now() - started);
  },
};
