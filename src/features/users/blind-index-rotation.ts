// Online rotation of the blind-index key (`gatehouse keys rotate-blind-index`), while
// every instance serves. Three steps, each its own transaction, so a run stopped anywhere
// (killed, a database restart) is continued by running the command again:
//
//  1. start: a new key version is created (stored wrapped, like every system key) and the
//     rotation row switches to `announced` with both key ids: every lookup tries both
//     indexes, new indexes are still written under the old key. Readers reload the row
//     every few seconds; after `graceMs` every instance knows both keys, and the row
//     switches to `moving`. Writers of email indexes read the row FOR SHARE
//     (BlindIndex.forWrite), so each switch waits for writes in flight, and every later
//     write uses the key of the new phase and checks both indexes for uniqueness. So no
//     instance that looks up only the old index can miss a row: none is written under the
//     new key, or moved to it, before every instance has reloaded.
//  2. move: users still on the old key, in id order from the row's cursor, a batch per
//     transaction: each email is decrypted under the user's data key, its new index
//     written, and its lockout counters carried to the new index (login counts under both
//     meanwhile: login/login.ts). The cursor and count advance in the same transaction.
//  3. finish: when no row is left on the old key, the phase is `done`, the old key row
//     is deleted from system_keys, and instances stop looking up the old index at their
//     next reload (a stale one only does a lookup too many).
import { CLI_ACTOR, CLI_CONTEXT } from '../../core/audit/cli-actor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import { BLIND_INDEX_PURPOSE, type BlindIndex } from '../../core/crypto/blind-index.ts';
import { loadBlindIndex, readBlindIndexState, type BlindIndexState } from '../../core/crypto/blind-index-keys.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import { createSystemKeyVersion, deleteSystemKey, systemKeyVersionOf, systemKeyVersionId } from '../../core/crypto/system-keys.ts';
import type { DB } from '../../core/db/database.ts';
import { carryLoginFailures } from '../lockout/index.ts';
import { decryptContact } from './repo.ts';

export const DEFAULT_REINDEX_BATCH = 200;
export const MAX_REINDEX_BATCH = 10_000;

export interface BlindIndexRotationDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly change: Changes;
}

export interface BlindIndexRotationOptions {
  readonly batchSize: number;
  /** How long after the start the move waits, so every instance has reloaded the rotation state. */
  readonly graceMs: number;
  /** Called after each committed batch (the CLI's --pause-ms; tests slow the move down with it). */
  readonly afterBatch?: (moved: number) => Promise<void>;
  /** Waits (the grace); tests pass a fake. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface BlindIndexRotationResult {
  /** False when this run continued a move an earlier run had started. */
  readonly started: boolean;
  readonly oldKeyId: string;
  readonly newKeyId: string;
  /** Rows moved by this run, and by the whole rotation. */
  readonly movedNow: number;
  readonly movedTotal: number;
}


/** A rotation that cannot go on: the message says why; running the command again resumes once it is fixed. */
export class BlindIndexRotationError extends Error {}

function nextKeyId(current: string): string {
  const version = systemKeyVersionOf(BLIND_INDEX_PURPOSE, current);
  if (version === null) throw new BlindIndexRotationError(`the current blind-index key id "${current}" is not one this version makes`);
  return systemKeyVersionId(BLIND_INDEX_PURPOSE, version + 1);
}

/** Step 1, or the state of the rotation already under way (then `started` is false). */
export async function startBlindIndexRotation(deps: BlindIndexRotationDeps): Promise<{ readonly state: BlindIndexState; readonly started: boolean }> {
  return deps.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const state = await readBlindIndexState(trx, { lock: 'update' });
    if (state.phase !== 'done') return { state, started: false };
    const newKeyId = nextKeyId(state.currentKeyId);
    await createSystemKeyVersion(trx, deps.keyring, BLIND_INDEX_PURPOSE, newKeyId);
    const now = deps.clock();
    await trx
      .updateTable('blind_index_rotation')
      .set({ phase: 'announced', previous_key_id: state.currentKeyId, current_key_id: newKeyId, cursor: null, moved: 0, started_at: now, finished_at: null })
      .where('id', '=', 1)
      .execute();
    const users = await countUsersOnKey(trx, state.currentKeyId);
    audit({
      actor: CLI_ACTOR,
      action: 'keys.blind_index_rotation_started',
      target: { type: 'system_key', id: newKeyId },
      outcome: 'success',
      details: { old_key_id: state.currentKeyId, new_key_id: newKeyId, users_to_move: users },
    });
    return { state: await readBlindIndexState(trx), started: true };
  });
}

/** The end of step 1: new indexes under the new key from now on, and rows may move. */
async function beginBlindIndexMove(deps: BlindIndexRotationDeps): Promise<BlindIndexState> {
  return deps.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const state = await readBlindIndexState(trx, { lock: 'update' });
    if (state.phase !== 'announced') return state;
    await trx.updateTable('blind_index_rotation').set({ phase: 'moving' }).where('id', '=', 1).execute();
    audit({
      actor: CLI_ACTOR,
      action: 'keys.blind_index_rotation_moving',
      target: { type: 'system_key', id: state.currentKeyId },
      outcome: 'success',
      details: { old_key_id: state.previousKeyId, new_key_id: state.currentKeyId },
    });
    return readBlindIndexState(trx);
  });
}

async function countUsersOnKey(db: DB, keyId: string): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<string | number | bigint>().as('count')).where('email_index_key', '=', keyId).executeTakeFirstOrThrow();
  return Number(row.count);
}

async function countUsersOffKey(db: DB, keyId: string): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<string | number | bigint>().as('count')).where('email_index_key', '<>', keyId).executeTakeFirstOrThrow();
  return Number(row.count);
}

interface StoredUser {
  readonly id: string;
  readonly email_index: string;
  readonly email_ciphertext: string;
  readonly wrapped_key: string | null;
}

// One user: its new index, checked against the stored one (the old key's index of the same
// address, or the row is not what its key id says and nothing is written).
async function moveUser(trx: DB, deps: BlindIndexRotationDeps, index: BlindIndex, state: BlindIndexState, user: StoredUser): Promise<boolean> {
  const contact = decryptContact(deps.keyring, { ...user, name_ciphertext: null });
  if (contact === null) throw new BlindIndexRotationError(`user ${user.id} has no data key: its email cannot be re-indexed`);
  const [fresh, old] = index.emailCandidates(contact.email);
  if (fresh === undefined || old !== user.email_index) throw new BlindIndexRotationError(`user ${user.id}: the stored index is not the old key's index of its email`);
  const result = await trx
    .updateTable('users')
    .set({ email_index: fresh, email_index_key: state.currentKeyId })
    .where('id', '=', user.id)
    .where('email_index_key', '=', state.previousKeyId ?? '')
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  await carryLoginFailures(trx, old, fresh);
  return true;
}

/** One batch of step 2 in its own transaction: how many rows it moved, or null when none was left after the cursor. */
async function moveBatch(deps: BlindIndexRotationDeps, keys: { index: BlindIndex; keyIds: string }, batchSize: number): Promise<number | null> {
  return deps.change(CLI_CONTEXT, async ({ trx }) => {
    // FOR UPDATE: two runs at once take turns, batch by batch, on one cursor.
    const state = await readBlindIndexState(trx, { lock: 'update' });
    if (state.phase !== 'moving' || `${state.currentKeyId}<${state.previousKeyId ?? ''}` !== keys.keyIds) return null;
    let query = trx
      .selectFrom('users')
      .leftJoin('data_keys', 'data_keys.owner_id', 'users.id')
      .select(['users.id', 'users.email_index', 'users.email_ciphertext', 'data_keys.wrapped_key'])
      .where('users.email_index_key', '=', state.previousKeyId ?? '');
    if (state.cursor !== null) query = query.where('users.id', '>', state.cursor);
    const users = await query.orderBy('users.id').limit(batchSize).execute();
    const last = users.at(-1);
    if (last === undefined) return null;
    let moved = 0;
    for (const user of users) if (await moveUser(trx, deps, keys.index, state, user)) moved += 1;
    await trx
      .updateTable('blind_index_rotation')
      .set((eb) => ({ cursor: last.id, moved: eb('moved', '+', moved) }))
      .where('id', '=', 1)
      .execute();
    return moved;
  });
}

/** Step 3: done and the old key destroyed, unless a row is still on another key (then false). */
async function finishBlindIndexRotation(deps: BlindIndexRotationDeps, keyIds: string): Promise<boolean> {
  return deps.change(CLI_CONTEXT, async ({ trx, audit }) => {
    const state = await readBlindIndexState(trx, { lock: 'update' });
    if (state.phase !== 'moving' || state.previousKeyId === null || `${state.currentKeyId}<${state.previousKeyId}` !== keyIds) return true;
    if ((await countUsersOffKey(trx, state.currentKeyId)) > 0) {
      // Rows the cursor passed but could not move (deleted and re-created meanwhile): one more pass.
      await trx.updateTable('blind_index_rotation').set({ cursor: null }).where('id', '=', 1).execute();
      return false;
    }
    await deleteSystemKey(trx, state.previousKeyId);
    await trx
      .updateTable('blind_index_rotation')
      .set({ phase: 'done', previous_key_id: null, cursor: null, finished_at: deps.clock() })
      .where('id', '=', 1)
      .execute();
    audit({
      actor: CLI_ACTOR,
      action: 'keys.blind_index_rotation_finished',
      target: { type: 'system_key', id: state.currentKeyId },
      outcome: 'success',
      details: { old_key_id: state.previousKeyId, new_key_id: state.currentKeyId, users_moved: state.moved },
    });
    return true;
  });
}

const MAX_PASSES = 3;

/** Starts a rotation, or continues the one under way, and runs it to the end. */
export async function rotateBlindIndex(deps: BlindIndexRotationDeps, options: BlindIndexRotationOptions): Promise<BlindIndexRotationResult> {
  if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > MAX_REINDEX_BATCH) {
    throw new RangeError(`the batch size must be an integer from 1 to ${MAX_REINDEX_BATCH}`);
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const begun = await startBlindIndexRotation(deps);
  const { started } = begun;
  let state = begun.state;
  if (state.phase === 'announced' && state.startedAt !== null) {
    // Counted from the start as recorded, so a run resumed soon after a killed one still waits.
    const waitMs = state.startedAt.getTime() + options.graceMs - deps.clock().getTime();
    if (waitMs > 0) await sleep(waitMs);
    state = await beginBlindIndexMove(deps);
  }
  const oldKeyId = state.previousKeyId;
  if (oldKeyId === null || state.phase !== 'moving') throw new BlindIndexRotationError('the rotation state is not moving after its start');

  const index = await loadBlindIndex(deps.db, deps.keyring, state);
  const keys = { index, keyIds: `${state.currentKeyId}<${oldKeyId}` };
  let movedNow = 0;
  for (let pass = 0; ; pass++) {
    for (;;) {
      const moved = await moveBatch(deps, keys, options.batchSize);
      if (moved === null) break;
      movedNow += moved;
      await options.afterBatch?.(moved);
    }
    if (await finishBlindIndexRotation(deps, keys.keyIds)) break;
    if (pass + 1 >= MAX_PASSES) throw new BlindIndexRotationError('rows are still on the old key after repeated passes; run the command again');
  }
  // `moved` is kept after the finish: it counts every run of this rotation.
  const final = await readBlindIndexState(deps.db);
  return { started, oldKeyId, newKeyId: state.currentKeyId, movedNow, movedTotal: final.moved };
}
