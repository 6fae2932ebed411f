// `gatehouse audit prune [--before <date>]`: the only way audit records are removed.
// Without --before it removes what AUDIT_RETENTION_DAYS no longer keeps, and with
// neither it refuses: keeping everything is the default. Run it as the database owner;
// the application's least-privilege role cannot delete audit records at all.
import { loadAuditKey, loadAuditKeyLookup } from '../core/audit/keys.ts';
import { pruneAuditTrail } from '../core/audit/prune.ts';
import type { Runtime } from '../runtime.ts';

const DAY_MS = 86_400_000;

export class PruneUsageError extends Error {}

/** The cut-off: `--before` if given (never in the future), else now − retention. */
export function pruneCutoff(before: string | undefined, retentionDays: number | null, now: Date): Date {
  if (before !== undefined) {
    const cutoff = new Date(before);
    if (!/^\d{4}-\d{2}-\d{2}/.test(before) || Number.isNaN(cutoff.getTime())) throw new PruneUsageError('--before must be an ISO 8601 date');
    if (cutoff.getTime() > now.getTime()) throw new PruneUsageError('--before must not be in the future');
    return cutoff;
  }
  if (retentionDays === null) {
    throw new PruneUsageError('AUDIT_RETENTION_DAYS is not set (audit records are kept forever); pass --before <date> to prune anyway');
  }
  return new Date(now.getTime() - retentionDays * DAY_MS);
}

export async function auditPrune(runtime: Runtime, before: Date): Promise<number> {
  const { keyring } = runtime;
  const result = await pruneAuditTrail(runtime.database.db, {
    key: runtime.auditKey,
    clock: runtime.clock,
    loadKey: (trx, keyId) => loadAuditKey(trx, keyring, keyId),
    loadKeys: (db) => loadAuditKeyLookup(db, keyring),
  }, { before });
  switch (result.kind) {
    case 'chain_broken':
      process.stderr.write(
        `audit prune refused: the chain is broken at seq ${String(result.verification.firstBrokenSeq)} (${result.verification.reason ?? 'unknown'}); nothing removed\n`,
      );
      return 1;
    case 'nothing_to_prune':
      process.stdout.write(`audit prune: no records before ${before.toISOString()} to remove\n`);
      return 0;
    case 'pruned': {
      const { checkpoint } = result;
      process.stdout.write(
        `audit prune: removed ${result.removed} records before ${before.toISOString()} (through seq ${checkpoint.through_seq}); ` +
          `checkpoint ${checkpoint.id} hash ${checkpoint.through_hash}\n`,
      );
      return 0;
    }
  }
}
