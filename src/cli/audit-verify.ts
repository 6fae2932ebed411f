import { verifyAuditChain } from '../core/audit/verify.ts';
import type { Runtime } from '../runtime.ts';

export async function auditVerify(runtime: Runtime): Promise<number> {
  const { auditKey } = runtime;
  const result = await verifyAuditChain(runtime.database.db, (keyId) => (keyId === auditKey.id ? auditKey.key : null));
  if (result.ok) {
    process.stdout.write(`audit chain intact: ${result.checked} records verified\n`);
    return 0;
  }
  process.stdout.write(
    `audit chain BROKEN at seq ${String(result.firstBrokenSeq)} (${result.reason ?? 'unknown'}); ${result.checked} records checked\n`,
  );
  return 1;
}
