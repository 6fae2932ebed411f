// Which blind-index keys are in force, as every instance sees them. The one row of
// blind_index_rotation (migrations/0023) names the key new indexes are written under and,
// while a rotation moves rows (`gatehouse keys rotate-blind-index`), the key being retired.
//
// Readers use what was loaded last, reloaded every few seconds. A stale reader is only
// slower: a rotation is first `announced` (both keys looked up, writes still under the old
// one) and waits long enough for every instance to reload before anything is written
// under the new key or moved to it; after it is done, a stale reader looks up one index
// too many. Writers never use a
// stale state: `forWrite` reads the row FOR SHARE in the writing transaction, so a phase
// change waits for the writes in flight, and every later write sees the new phase.
import type { DB } from '../db/database.ts';
import { BLIND_INDEX_PURPOSE, createBlindIndex, type BlindIndex } from './blind-index.ts';
import type { Keyring } from './keyring.ts';
import { getOrCreateSystemKey, readSystemKey } from './system-keys.ts';

/** How often a serving instance re-reads the rotation state (lookups only; writes always read it). */
export const BLIND_INDEX_RELOAD_MS = 5_000;

export interface BlindIndexState {
  /** The newest key: written from `moving` on. */
  readonly currentKeyId: string;
  /** The key being retired: non-null exactly until the rotation is done; written while `announced`. */
  readonly previousKeyId: string | null;
  readonly phase: 'announced' | 'moving' | 'done';
  /** The last user id the move re-indexed (null before its first batch). */
  readonly cursor: string | null;
  readonly moved: number;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** The rotation row; `lock` holds it to the end of the caller's transaction. */
export async function readBlindIndexState(db: DB, options: { readonly lock?: 'share' | 'update' } = {}): Promise<BlindIndexState> {
  let query = db.selectFrom('blind_index_rotation').selectAll().where('id', '=', 1);
  if (options.lock === 'share') query = query.forShare();
  if (options.lock === 'update') query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (row === undefined) throw new Error('the blind-index rotation state is missing (run `gatehouse migrate`)');
  return {
    currentKeyId: row.current_key_id,
    previousKeyId: row.previous_key_id,
    phase: row.phase,
    cursor: row.cursor,
    moved: Number(row.moved),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

// The first key is created on first use, as before rotations existed; later versions are
// created by the rotation before any instance can be told about them.
async function loadKey(db: DB, keyring: Keyring, id: string): Promise<Buffer> {
  if (id === BLIND_INDEX_PURPOSE) return (await getOrCreateSystemKey(db, keyring, BLIND_INDEX_PURPOSE)).key;
  const stored = await readSystemKey(db, keyring, id);
  if (stored === null) throw new Error(`blind-index key "${id}" is missing from system_keys`);
  return stored.key;
}

/**
 * The blind index for `state`: it writes under the new key once rows move (under the old
 * one while the rotation is only announced) and looks up both until the rotation is done.
 */
export async function loadBlindIndex(db: DB, keyring: Keyring, state: BlindIndexState): Promise<BlindIndex> {
  const writeKeyId = state.phase === 'announced' && state.previousKeyId !== null ? state.previousKeyId : state.currentKeyId;
  const otherKeyId = state.previousKeyId === null ? null : writeKeyId === state.currentKeyId ? state.previousKeyId : state.currentKeyId;
  const key = await loadKey(db, keyring, writeKeyId);
  const other = otherKeyId === null ? null : await loadKey(db, keyring, otherKeyId);
  try {
    return createBlindIndex(key, { keyId: writeKeyId, ...(other === null ? {} : { alsoLookUp: other }) });
  } finally {
    // The HMAC subkeys are derived into KeyObjects; the raw keys are not kept.
    key.fill(0);
    other?.fill(0);
  }
}

/** A blind index that follows the rotation state. */
export interface LiveBlindIndex extends BlindIndex {
  /** Re-reads the state now and switches keys if it changed. */
  reload(): Promise<void>;
  /** Re-reads every `BLIND_INDEX_RELOAD_MS` (or `intervalMs`) until stopped: `serve` runs it. */
  start(options?: { readonly intervalMs?: number }): void;
  stop(): void;
}

export interface LiveBlindIndexDeps {
  readonly db: DB;
  readonly keyring: Keyring;
  readonly onReloadError?: (error: unknown) => void;
}

interface Loaded {
  readonly index: BlindIndex;
  readonly state: BlindIndexState;
}

function sameKeys(loaded: Loaded, state: BlindIndexState): boolean {
  return loaded.state.currentKeyId === state.currentKeyId && loaded.state.previousKeyId === state.previousKeyId && loaded.state.phase === state.phase;
}

export async function createLiveBlindIndex(deps: LiveBlindIndexDeps): Promise<LiveBlindIndex> {
  const { db, keyring } = deps;
  const initial = await readBlindIndexState(db);
  let loaded: Loaded = { index: await loadBlindIndex(db, keyring, initial), state: initial };
  let timer: NodeJS.Timeout | null = null;

  async function follow(source: DB, state: BlindIndexState): Promise<BlindIndex> {
    if (sameKeys(loaded, state)) return loaded.index;
    const next: Loaded = { index: await loadBlindIndex(source, keyring, state), state };
    loaded = next;
    return next.index;
  }

  const live: LiveBlindIndex = {
    get keyId() {
      return loaded.index.keyId;
    },
    email(value) {
      return loaded.index.email(value);
    },
    emailCandidates(value) {
      return loaded.index.emailCandidates(value);
    },
    async forWrite(trx) {
      return follow(trx, await readBlindIndexState(trx, { lock: 'share' }));
    },
    async reload() {
      await follow(db, await readBlindIndexState(db));
    },
    start(options = {}) {
      if (timer !== null) return;
      timer = setInterval(() => {
        live.reload().catch((error: unknown) => deps.onReloadError?.(error));
      }, options.intervalMs ?? BLIND_INDEX_RELOAD_MS);
      timer.unref();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
  return live;
}
