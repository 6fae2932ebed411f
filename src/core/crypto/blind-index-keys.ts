// Which blind-index keys are in force, as every instance sees them. The one row of
// blind_index_rotation (migrations/0023) names the key new indexes are written under and,
// while a rotation moves rows (`gatehouse keys rotate-blind-index`), the key being retired.
//
// Readers use what was loaded last, reloaded every few seconds (a stale reader is only
// slower: both keys stay valid until the move has finished, and the rotation waits for
// every instance to have seen a move start before moving anything). Writers never use a
// stale state: `forWrite` reads the row FOR SHARE in the writing transaction, so a phase
// change waits for the writes in flight, and every later write sees the new phase.
import type { DB } from '../db/database.ts';
import { BLIND_INDEX_PURPOSE, createBlindIndex, type BlindIndex } from './blind-index.ts';
import type { Keyring } from './keyring.ts';
import { getOrCreateSystemKey, readSystemKey } from './system-keys.ts';

/** How often a serving instance re-reads the rotation state (lookups only; writes always read it). */
export const BLIND_INDEX_RELOAD_MS = 5_000;

export interface BlindIndexState {
  readonly currentKeyId: string;
  /** Non-null exactly while a move runs. */
  readonly previousKeyId: string | null;
  readonly phase: 'moving' | 'done';
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

/** The blind index for `state`: its current key, and the retiring one while rows move. */
export async function loadBlindIndex(db: DB, keyring: Keyring, state: BlindIndexState): Promise<BlindIndex> {
  const key = await loadKey(db, keyring, state.currentKeyId);
  const previousKey = state.previousKeyId === null ? null : await loadKey(db, keyring, state.previousKeyId);
  try {
    return createBlindIndex(key, { keyId: state.currentKeyId, ...(previousKey === null ? {} : { previousKey }) });
  } finally {
    // The HMAC subkeys are derived into KeyObjects; the raw keys are not kept.
    key.fill(0);
    previousKey?.fill(0);
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
  readonly previousKeyId: string | null;
}

function sameKeys(loaded: Loaded, state: BlindIndexState): boolean {
  return loaded.index.keyId === state.currentKeyId && loaded.previousKeyId === state.previousKeyId;
}

export async function createLiveBlindIndex(deps: LiveBlindIndexDeps): Promise<LiveBlindIndex> {
  const { db, keyring } = deps;
  const initial = await readBlindIndexState(db);
  let loaded: Loaded = { index: await loadBlindIndex(db, keyring, initial), previousKeyId: initial.previousKeyId };
  let timer: NodeJS.Timeout | null = null;

  async function follow(source: DB, state: BlindIndexState): Promise<BlindIndex> {
    if (sameKeys(loaded, state)) return loaded.index;
    const next: Loaded = { index: await loadBlindIndex(source, keyring, state), previousKeyId: state.previousKeyId };
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
