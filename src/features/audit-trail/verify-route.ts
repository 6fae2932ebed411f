// The chain check behind GET /v1/admin/audit/verify. A walk reads the whole trail, so
// concurrent requests share the walk in progress instead of each starting one. A broken
// chain is recorded as `audit.verify_failed` (webhook observers pick it up) when the
// trail still accepts appends; if even that fails, the log gets it instead.
import type { Kysely } from 'kysely';
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { AuditKeyLookup } from '../../core/audit/types.ts';
import { verifyAuditChain, type ChainVerification } from '../../core/audit/verify.ts';
import type { Changes } from '../../core/change.ts';
import type { Schema } from '../../core/db/schema.ts';
import type { Logger } from '../../core/logging.ts';

export interface ChainCheckDeps {
  readonly db: Kysely<Schema>;
  /** Every audit key version, read afresh: a rotation since the last walk adds one. */
  readonly keys: () => Promise<AuditKeyLookup>;
  readonly change: Changes;
  readonly log: Logger;
}

export interface ChainCheckResult {
  readonly ok: boolean;
  readonly checked: number;
  readonly first_broken_seq: number | null;
  readonly reason: string | null;
}

async function recordFailure(deps: ChainCheckDeps, context: RequestContext, userId: string, result: ChainVerification): Promise<void> {
  try {
    await deps.change(context, ({ audit }) => {
      audit({
        actor: { type: 'user', id: userId },
        action: 'audit.verify_failed',
        outcome: 'failure',
        details: { first_broken_seq: result.firstBrokenSeq, reason: result.reason ?? null, checked: result.checked },
      });
      return Promise.resolve();
    });
  } catch (error) {
    deps.log.error({ err: error, first_broken_seq: result.firstBrokenSeq }, 'audit chain broken, and recording that failed');
  }
}

export function createChainCheck(deps: ChainCheckDeps): (context: RequestContext, userId: string) => Promise<ChainCheckResult> {
  let running: Promise<ChainVerification> | null = null;
  return async (context, userId) => {
    running ??= deps.keys().then((keys) => verifyAuditChain(deps.db, keys)).finally(() => {
      running = null;
    });
    const result = await running;
    if (!result.ok) {
      deps.log.error({ first_broken_seq: result.firstBrokenSeq, reason: result.reason }, 'audit chain verification failed');
      await recordFailure(deps, context, userId, result);
    }
    return { ok: result.ok, checked: result.checked, first_broken_seq: result.firstBrokenSeq, reason: result.reason ?? null };
  };
}
