// `gatehouse keys rotate-data-keys`: runs of the per-owner rotation (rotate-user.ts), each
// recorded in data_key_rotations and audited when it starts, resumes and finishes, and
// for every owner rotated (`data_key.rotated`, in that owner's transaction).
//
// `--all` walks data_keys by owner id in batches. Each owner is one transaction through
// the audited-change helper, which also moves the run's cursor: a run stopped anywhere
// leaves every owner either wholly old or wholly new, and running the command again
// resumes the open run (the same id and start time) after its cursor. Only keys created
// before the run started are rotated: an account created later already has a fresh key,
// and so has every owner this run rotated (the rotation sets the key's created_at), which
// makes rerunning over the same owners harmless. After the commit the change helper drops
// the owner's cached entries (`user:<id>`) here and, with Redis, on every instance; no
// cache holds data keys (they are unwrapped per use), so nothing can go on sealing under
// the old key.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { DataKeyRotationError, rotateOwnerDataKey, type OwnerRotation, type OwnerRotationOptions } from './rotate-user.ts';

export const DEFAULT_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 10_000;
/** Attempts per owner when a request holds a lock the rotation needs (lock_timeout). */
const LOCK_ATTEMPTS = 20;

const CONTEXT: RequestContext = { ip: null, userAgent: 'gatehouse keys rotate-data-keys', requestId: null };
const ACTOR = { type: 'system', id: 'rotate-data-keys' } as const;

export interface DataKeyRotationDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly change: Changes;
}

export interface RotationHooks {
  /** Tests only: after each owner's transaction committed (a slow-down, or a kill point). */
  readonly afterOwner?: (ownerId: string) => Promise<void>;
  /** Tests only: inside an owner's transaction, before its key row changes. */
  readonly beforeKeySwap?: (ownerId: string) => Promise<void>;
}

export interface RotationSummary {
  readonly rotationId: string;
  readonly resumed: boolean;
  readonly startedAt: Date;
  readonly rotated: number;
  readonly skipped: number;
}

interface RunRow {
  readonly id: string;
  readonly started_at: Date;
  readonly cursor: string | null;
  readonly rotated: number;
  readonly skipped: number;
}

export function assertBatchSize(batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`the batch size must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
}

/** What an owner's rotation re-sealed, for its audit record: `[{ column: 'users.email_ciphertext', values: 1 }, ...]`. */
export function resealedList(fields: Readonly<Record<string, number>>): { readonly column: string; readonly values: number }[] {
  return Object.entries(fields).map(([column, values]) => ({ column, values }));
}

function isLockTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '55P03';
}

const RUN_COLUMNS = ['id', 'started_at', 'cursor', 'rotated', 'skipped'] as const;

/** The open run of everything, or a new one; audited either way. */
async function openRun(deps: DataKeyRotationDeps, batchSize: number): Promise<{ readonly run: RunRow; readonly resumed: boolean }> {
  return deps.change(CONTEXT, async ({ trx, audit }) => {
    const inserted = await trx
      .insertInto('data_key_rotations')
      .values({ id: randomUUID(), scope: 'all', owner_id: null, started_at: sql<Date>`now()`, cursor: null, finished_at: null })
      .onConflict((conflict) => conflict.doNothing())
      .returning(RUN_COLUMNS)
      .executeTakeFirst();
    const run = inserted ?? (await trx.selectFrom('data_key_rotations').select(RUN_COLUMNS).where('scope', '=', 'all').where('finished_at', 'is', null).executeTakeFirstOrThrow());
    const resumed = inserted === undefined;
    audit({
      actor: ACTOR,
      action: resumed ? 'data_key_rotation.resumed' : 'data_key_rotation.started',
      target: { type: 'data_key_rotation', id: run.id },
      outcome: 'success',
      details: { scope: 'all', batch_size: batchSize, ...(resumed ? { rotated_so_far: run.rotated, skipped_so_far: run.skipped } : {}) },
    });
    return { run, resumed };
  });
}

/** One owner in one audited transaction, which also advances the run; retried while requests hold its locks. */
async function rotateOwner(deps: DataKeyRotationDeps, run: { readonly id: string; readonly scope: 'all' | 'user' }, ownerId: string, options: Omit<OwnerRotationOptions, 'rotationId'>): Promise<OwnerRotation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.change(CONTEXT, async ({ trx, audit }) => {
        const outcome = await rotateOwnerDataKey(trx, deps.keyring, ownerId, { ...options, rotationId: run.id });
        const rotated = outcome.status === 'rotated';
        let update = trx
          .updateTable('data_key_rotations')
          .set((eb) => ({
            rotated: eb('rotated', '+', rotated ? 1 : 0),
            skipped: eb('skipped', '+', rotated ? 0 : 1),
            ...(run.scope === 'all' ? { cursor: ownerId } : {}),
          }))
          .where('id', '=', run.id)
          .where('finished_at', 'is', null);
        // Two commands resuming one run never move its cursor back, nor count an owner twice.
        if (run.scope === 'all') update = update.where((eb) => eb.or([eb('cursor', 'is', null), eb('cursor', '<', ownerId)]));
        const advanced = await update.executeTakeFirst();
        if (advanced.numUpdatedRows === 0n) throw new DataKeyRotationError('the rotation run was finished or overtaken by another command; run it again');
        if (outcome.status === 'rotated') {
          audit({
            actor: ACTOR,
            action: 'data_key.rotated',
            target: { type: 'user', id: ownerId },
            outcome: 'success',
            // A list, not an object keyed by column: `mfa_totp.secret_ciphertext` as a key would
            // (rightly) be refused by the audit trail's guard against secret-named keys.
            details: { rotation_id: run.id, old_key_id: outcome.oldKeyId, new_key_id: outcome.newKeyId, resealed: resealedList(outcome.fields) },
          });
        }
        return outcome;
      });
    } catch (error) {
      if (!isLockTimeout(error) || attempt >= LOCK_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

async function finishRun(deps: DataKeyRotationDeps, runId: string, scope: 'all' | 'user'): Promise<RunRow> {
  return deps.change(CONTEXT, async ({ trx, audit }) => {
    const finished = await trx
      .updateTable('data_key_rotations')
      .set({ finished_at: sql<Date>`now()` })
      .where('id', '=', runId)
      .where('finished_at', 'is', null)
      .returning(RUN_COLUMNS)
      .executeTakeFirst();
    if (finished === undefined) return trx.selectFrom('data_key_rotations').select(RUN_COLUMNS).where('id', '=', runId).executeTakeFirstOrThrow();
    audit({
      actor: ACTOR,
      action: 'data_key_rotation.finished',
      target: { type: 'data_key_rotation', id: runId },
      outcome: 'success',
      details: { scope, rotated: finished.rotated, skipped: finished.skipped },
    });
    return finished;
  });
}

/** Rotates the data key of every owner whose key predates the run (resuming an open run); see the top of this file. */
export async function rotateAllDataKeys(deps: DataKeyRotationDeps, options: { readonly batchSize?: number; readonly hooks?: RotationHooks } = {}): Promise<RotationSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  assertBatchSize(batchSize);
  const { run, resumed } = await openRun(deps, batchSize);
  const startedAt = new Date(run.started_at);
  let after = run.cursor;
  for (;;) {
    let query = deps.db
      .selectFrom('data_keys')
      .select('owner_id')
      .where((eb) => eb('created_at', '<', eb.selectFrom('data_key_rotations').select('started_at').where('id', '=', run.id)));
    if (after !== null) query = query.where('owner_id', '>', after);
    const owners = await query.orderBy('owner_id').limit(batchSize).execute();
    for (const { owner_id: ownerId } of owners) {
      const beforeKeySwap = options.hooks?.beforeKeySwap;
      await rotateOwner(deps, { id: run.id, scope: 'all' }, ownerId, {
        onlyKeysOlderThanRun: true,
        ...(beforeKeySwap === undefined ? {} : { beforeKeySwap: () => beforeKeySwap(ownerId) }),
      });
      await options.hooks?.afterOwner?.(ownerId);
    }
    const last = owners.at(-1);
    if (last === undefined || owners.length < batchSize) break;
    after = last.owner_id;
  }
  const finished = await finishRun(deps, run.id, 'all');
  return { rotationId: run.id, resumed, startedAt, rotated: finished.rotated, skipped: finished.skipped };
}

/** Rotates one owner's data key now, whatever its age (`--user`): a run of its own, audited. */
export async function rotateUserDataKey(deps: DataKeyRotationDeps, ownerId: string, options: { readonly hooks?: RotationHooks } = {}): Promise<RotationSummary & { readonly outcome: OwnerRotation }> {
  const run = await deps.change(CONTEXT, async ({ trx, audit }) => {
    const started = await trx
      .insertInto('data_key_rotations')
      .values({ id: randomUUID(), scope: 'user', owner_id: ownerId, started_at: sql<Date>`now()`, cursor: null, finished_at: null })
      .returning(RUN_COLUMNS)
      .executeTakeFirstOrThrow();
    audit({ actor: ACTOR, action: 'data_key_rotation.started', target: { type: 'data_key_rotation', id: started.id }, outcome: 'success', details: { scope: 'user', user_id: ownerId } });
    return started;
  });
  const beforeKeySwap = options.hooks?.beforeKeySwap;
  const outcome = await rotateOwner(deps, { id: run.id, scope: 'user' }, ownerId, {
    onlyKeysOlderThanRun: false,
    ...(beforeKeySwap === undefined ? {} : { beforeKeySwap: () => beforeKeySwap(ownerId) }),
  });
  const finished = await finishRun(deps, run.id, 'user');
  return { rotationId: run.id, resumed: false, startedAt: new Date(run.started_at), rotated: finished.rotated, skipped: finished.skipped, outcome };
}
