// `gatehouse keys rotate-audit`: a new audit-chain key version takes over the chain, while
// the instances serve (core/audit/rotate-key.ts). Rerun it after an interruption: it
// finishes the interrupted rotation instead of starting another.
import { createAuditor, type AuditObserver } from '../core/audit/auditor.ts';
import { HANDOVER_ACTION, loadAuditKey, loadAuditKeyLookup } from '../core/audit/keys.ts';
import { rotateAuditKey, type AuditKeyRotation, type RotationStep } from '../core/audit/rotate-key.ts';
import { verifyAuditChain } from '../core/audit/verify.ts';
import { createCacheInvalidation } from '../core/cache.ts';
import { createChanges } from '../core/change.ts';
import { createSecurityWebhooks } from '../features/webhooks/service.ts';
import type { Runtime } from '../runtime.ts';

export interface RotateAuditHooks {
  /** Tests only: awaited after each step (after the hand-over is appended, before its commit), to stop the process there. */
  readonly pause?: (step: RotationStep) => Promise<void>;
}

export async function rotateAuditKeyCommand(runtime: Runtime, hooks: RotateAuditHooks = {}): Promise<AuditKeyRotation> {
  const { keyring, clock } = runtime;
  const db = runtime.database.db;
  const { pause } = hooks;
  // The hand-over is a security webhook: its job is written in the hand-over's own
  // transaction, and a serving instance's job runner delivers it.
  const webhooks = createSecurityWebhooks({ clock, log: runtime.log, config: runtime.config.administration.webhooks });
  const paused: AuditObserver = async (_trx, event) => { if (event.action === HANDOVER_ACTION) await pause?.('handover_appended'); };
  const audit = createAuditor({
    key: runtime.auditKey,
    clock,
    loadKey: (trx, keyId) => loadAuditKey(trx, keyring, keyId),
    observers: [...(webhooks === null ? [] : [webhooks.observer]), ...(pause === undefined ? [] : [paused])],
  });
  const change = createChanges({ db, audit, invalidation: createCacheInvalidation() });
  return rotateAuditKey({ db, keyring, change }, pause === undefined ? {} : { pause });
}

export async function rotateAudit(runtime: Runtime, write: (text: string) => void): Promise<number> {
  const rotation = await rotateAuditKeyCommand(runtime);
  const how = rotation.alreadyDone ? 'already handed over by another run' : rotation.resumed ? 'resumed an interrupted rotation' : 'rotated';
  write(`audit key ${how}: ${rotation.from} -> ${rotation.to}, hand-over at seq ${rotation.seq}\n`);
  // The hand-over and what follows it, checked with both keys as any verifier will.
  const db = runtime.database.db;
  const check = await verifyAuditChain(db, await loadAuditKeyLookup(db, runtime.keyring), { fromSeq: rotation.seq });
  if (!check.ok) {
    write(`audit chain BROKEN at seq ${String(check.firstBrokenSeq)} (${check.reason ?? 'unknown'}) after the hand-over; run \`gatehouse audit verify\`\n`);
    return 1;
  }
  return 0;
}
