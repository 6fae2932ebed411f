// What `backup verify` and `backup restore` check on a restored database, beyond the file's
// own integrity (read.ts): every stored key unwraps under this configuration's master
// keys (a restore after a master-key rotation needs the old key until every backup wrapped
// under it has expired: docs/operations.md), the audit chain verifies, and its head is
// the one the backup recorded when it was taken.
import { unwrapDataKey } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { systemKeyAAD } from '../../core/crypto/system-keys.ts';
import { loadAuditKeyLookup } from '../../core/audit/keys.ts';
import type { DB } from '../../core/db/database.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { signingKeyAAD } from '../tokens/index.ts';
import type { AuditHead } from './format.ts';

export interface RestoredChecks {
  readonly keys: { readonly checked: number; readonly missingMasterKeys: readonly string[] };
  readonly audit: { readonly ok: boolean; readonly checked: number; readonly firstBrokenSeq: number | null; readonly reason: string | null; readonly headMatches: boolean };
}

const BATCH = 1000;
const MASTER_KEY_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

async function checkKeys(db: DB, keyring: Keyring): Promise<RestoredChecks['keys']> {
  const missing = new Set<string>();
  let checked = 0;
  const attempt = (masterKeyId: string, unwrap: () => unknown): void => {
    checked += 1;
    try {
      unwrap();
    } catch {
      // Printed to a terminal: only what a key id can be.
      missing.add(MASTER_KEY_ID.test(masterKeyId) ? masterKeyId : '(malformed id)');
    }
  };
  for (const row of await db.selectFrom('system_keys').select(['id', 'master_key_id', 'wrapped_key']).execute()) {
    attempt(row.master_key_id, () => keyring.unwrap(row.wrapped_key, systemKeyAAD(row.id)));
  }
  for (const row of await db.selectFrom('signing_keys').select(['kid', 'master_key_id', 'wrapped_private_key']).execute()) {
    attempt(row.master_key_id, () => keyring.unwrap(row.wrapped_private_key, signingKeyAAD(row.kid)));
  }
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db.selectFrom('data_keys').select(['owner_id', 'master_key_id', 'wrapped_key']).where('owner_id', '>', after).orderBy('owner_id').limit(BATCH).execute();
    for (const row of rows) attempt(row.master_key_id, () => unwrapDataKey(keyring, row.owner_id, row.wrapped_key));
    const last = rows.at(-1);
    if (last === undefined || rows.length < BATCH) break;
    after = last.owner_id;
  }
  return { checked, missingMasterKeys: [...missing].sort() };
}

export async function checkRestored(db: DB, keyring: Keyring, recordedHead: AuditHead | null): Promise<RestoredChecks> {
  const keys = await checkKeys(db, keyring);
  if (keys.missingMasterKeys.length > 0) return { keys, audit: { ok: false, checked: 0, firstBrokenSeq: null, reason: 'audit key not readable', headMatches: false } };
  // Every audit key version the backup holds: its chain may span key rotations.
  const result = await verifyAuditChain(db, await loadAuditKeyLookup(db, keyring));
  const headMatches = recordedHead === null ? true : result.head.seq === recordedHead.seq && result.head.hash === recordedHead.hash;
  return { keys, audit: { ok: result.ok, checked: result.checked, firstBrokenSeq: result.firstBrokenSeq, reason: result.reason ?? null, headMatches } };
}

export function restoredChecksPass(checks: RestoredChecks): boolean {
  return checks.keys.missingMasterKeys.length === 0 && checks.audit.ok && checks.audit.headMatches;
}

/** What failed, in one line, for an error message. */
export function describeFailedChecks(checks: RestoredChecks): string {
  const problems: string[] = [];
  if (checks.keys.missingMasterKeys.length > 0) problems.push(`keys wrapped under master keys this configuration lacks: ${checks.keys.missingMasterKeys.join(', ')}`);
  if (!checks.audit.ok) problems.push(`audit chain broken${checks.audit.firstBrokenSeq === null ? '' : ` at seq ${checks.audit.firstBrokenSeq}`} (${checks.audit.reason ?? 'unknown'})`);
  if (checks.audit.ok && !checks.audit.headMatches) problems.push("the audit chain's head differs from the one the backup recorded");
  return problems.join('; ');
}
