// `gatehouse audit verify [--file export.ndjson]`: walk the stored chain from its start
// (or its newest checkpoint), or check an export offline with the same code. Either way
// the audit keys come from this installation, unwrapped by the master key: every version
// still stored, so a chain or an export spanning key rotations verifies.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { verifyExport } from '../core/audit/export-format.ts';
import { loadAuditKeyLookup } from '../core/audit/keys.ts';
import type { AuditKeyLookup } from '../core/audit/types.ts';
import { verifyAuditChain } from '../core/audit/verify.ts';
import type { Runtime } from '../runtime.ts';

function keysOf(runtime: Runtime): Promise<AuditKeyLookup> {
  return loadAuditKeyLookup(runtime.database.db, runtime.keyring);
}

export async function auditVerify(runtime: Runtime): Promise<number> {
  const result = await verifyAuditChain(runtime.database.db, await keysOf(runtime));
  if (result.ok) {
    process.stdout.write(`audit chain intact: ${result.checked} records verified, head seq ${result.head.seq} hash ${result.head.hash} key ${result.head.keyId ?? 'none'}\n`);
    return 0;
  }
  process.stdout.write(
    `audit chain BROKEN at seq ${String(result.firstBrokenSeq)} (${result.reason ?? 'unknown'}); ${result.checked} records checked\n`,
  );
  return 1;
}

export async function auditVerifyFile(runtime: Runtime, path: string): Promise<number> {
  // Keys first: lines a readline interface emits before its iteration starts are lost.
  const keys = await keysOf(runtime);
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  const result = await verifyExport(lines, keys);
  if (result.ok) {
    const anchor = result.anchor === null ? '' : ` after seq ${result.anchor.seq}`;
    process.stdout.write(`export intact: ${result.checked} records verified${anchor} (anchored by ${result.anchoring ?? 'nothing'})\n`);
    if (result.anchoring === 'unanchored') {
      process.stdout.write(`  partial export: check that seq ${String(result.anchor?.seq)} has hash ${String(result.anchor?.hash)} in your previous export\n`);
    }
    return 0;
  }
  process.stdout.write(`export BROKEN at seq ${String(result.firstBrokenSeq)} (${result.reason ?? 'unknown'}); ${result.checked} records checked\n`);
  return 1;
}
