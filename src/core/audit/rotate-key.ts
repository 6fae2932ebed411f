// `gatehouse keys rotate-audit`: a new version of the audit-chain key takes over the chain
// (keys.ts says how the chain tells which key seals each record). Two steps:
//
// 1. A new key version is created (`audit-chain:<n>`), wrapped by the master key. It is
//    pending: stored, sealing nothing, until a hand-over names it.
// 2. The hand-over is appended, through the audited-change helper like any change: the
//    record `audit.key_rotated`, sealed under the key in force, naming the new key and
//    committing to it. Its commit is the switch: the chain lock serializes it with every
//    append, and from the next record on every instance seals under the new key (an
//    instance still holding the old one is refused under the lock, loads the new one and
//    seals again; append.ts).
//
// Resumable: a run stopped after step 1 leaves a pending key, which the next run hands
// over to instead of creating another; a run stopped before its hand-over committed left
// nothing of it. A concurrent run that loses the race finds its hand-over refused
// (`stale_handover`, the key it would hand over from is no longer in force) and reports
// the rotation already done. So a rotation ends with exactly one hand-over per key.
import { sql } from 'kysely';
import { CLI_ACTOR, CLI_CONTEXT } from './cli-actor.ts';
import type { Changes } from '../change.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { getOrCreateSystemKeyVersion, readSystemKeysOfPurpose } from '../crypto/system-keys.ts';
import type { DB } from '../db/database.ts';
import { AuditInputError } from './errors.ts';
import { AUDIT_KEY_PURPOSE, HANDOVER_ACTION, auditKeyInForce, auditKeyVersion, handoverDetails } from './keys.ts';
import type { AuditKey } from './types.ts';

export type RotationStep = 'key_created' | 'handover_appended';

export interface RotateAuditKeyDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  /** The audited-change helper; its auditor must load keys (`loadKey`) to follow a rotation. */
  readonly change: Changes;
}

export interface AuditKeyRotation {
  readonly from: string;
  readonly to: string;
  /** The hand-over's seq. */
  readonly seq: number;
  /** A pending key from an interrupted run was handed over to, none created. */
  readonly resumed: boolean;
  /** Another run handed over first: this one appended nothing. */
  readonly alreadyDone: boolean;
}


function versionOf(key: AuditKey): number {
  const version = auditKeyVersion(key.id);
  if (version === null) throw new Error(`"${key.id}" is not an audit key version`);
  return version;
}

/** Step 1: the pending key (newer than the one in force), created when there is none. */
async function pendingKey(deps: RotateAuditKeyDeps, from: AuditKey): Promise<{ readonly key: AuditKey; readonly resumed: boolean }> {
  const stored = await readSystemKeysOfPurpose(deps.db, deps.keyring, AUDIT_KEY_PURPOSE);
  const newer = stored.filter((key) => (auditKeyVersion(key.id) ?? 0) > versionOf(from));
  const pending = newer.at(-1);
  if (pending !== undefined) return { key: pending, resumed: true };
  const next = Math.max(...stored.map((key) => auditKeyVersion(key.id) ?? 0), versionOf(from)) + 1;
  return { key: await getOrCreateSystemKeyVersion(deps.db, deps.keyring, AUDIT_KEY_PURPOSE, next), resumed: false };
}

async function handoverSeq(db: DB, to: string): Promise<number | null> {
  const row = await db
    .selectFrom('audit_events')
    .select('seq')
    .where('action', '=', HANDOVER_ACTION)
    .where(sql<string>`details->>'new_key_id'`, '=', to)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.seq ?? null;
}

/** Step 2: the hand-over, whose commit switches the chain; false when a concurrent run's came first. */
async function handOver(deps: RotateAuditKeyDeps, from: AuditKey, to: AuditKey): Promise<boolean> {
  try {
    await deps.change(CLI_CONTEXT, ({ audit }) => {
      audit({
        actor: CLI_ACTOR,
        action: HANDOVER_ACTION,
        target: { type: 'audit_key', id: to.id },
        outcome: 'success',
        details: handoverDetails(from, to),
      });
      return Promise.resolve();
    });
    return true;
  } catch (error) {
    if (error instanceof AuditInputError && error.code === 'stale_handover') return false;
    throw error;
  }
}

export async function rotateAuditKey(deps: RotateAuditKeyDeps, hooks: { readonly pause?: (step: RotationStep) => Promise<void> } = {}): Promise<AuditKeyRotation> {
  const from = await auditKeyInForce(deps.db, deps.keyring);
  const { key: to, resumed } = await pendingKey(deps, from);
  await hooks.pause?.('key_created');
  const handedOver = await handOver(deps, from, to);
  const seq = await handoverSeq(deps.db, to.id);
  if (seq === null) throw new Error(`no hand-over to the audit key "${to.id}" is in the chain`);
  return { from: from.id, to: to.id, seq, resumed, alreadyDone: !handedOver };
}
