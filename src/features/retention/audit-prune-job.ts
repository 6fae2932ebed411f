// With AUDIT_RETENTION_DAYS set, the server prunes the audit trail itself once a day, as
// `gatehouse audit prune` does (core/audit/prune.ts: behind a signed checkpoint, never
// while the chain is broken). Removing audit records needs the database owner: under the
// least-privilege role (docs/operations.md) the deletion is refused, and the job says so
// in the log and leaves it to the operator's scheduled `gatehouse audit prune`.
import { pruneAuditTrail, type PruneDeps } from '../../core/audit/prune.ts';
import type { DB } from '../../core/db/database.ts';
import type { ScheduledJob } from '../../core/jobs/scheduler.ts';
import type { Logger } from '../../core/logging.ts';

const DAY_MS = 86_400_000;

/** PostgreSQL's SQLSTATE for a privilege the role lacks. */
function isPermissionDenied(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '42501';
}

export function auditPruneJob(deps: PruneDeps & { readonly log: Logger; readonly retentionDays: number }): ScheduledJob {
  return {
    name: 'prune-audit-trail',
    everySeconds: 86_400,
    description: `audit records older than AUDIT_RETENTION_DAYS (${deps.retentionDays} days), behind a signed checkpoint; needs the database owner`,
    run: async (db: DB, now: Date) => {
      try {
        const result = await pruneAuditTrail(db, deps, { before: new Date(now.getTime() - deps.retentionDays * DAY_MS) });
        if (result.kind === 'chain_broken') {
          deps.log.error({ first_broken_seq: result.verification.firstBrokenSeq }, 'audit prune refused: the audit chain is broken; nothing removed');
          return 0;
        }
        return result.kind === 'pruned' ? result.removed : 0;
      } catch (error) {
        if (!isPermissionDenied(error)) throw error;
        deps.log.warn('audit prune skipped: this database role cannot remove audit records; run `gatehouse audit prune` as the database owner');
        return 0;
      }
    },
  };
}
