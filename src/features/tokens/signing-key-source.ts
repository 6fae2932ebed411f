// Signing and verification read keys through this cache, not the database: the state is
// reloaded at most every `refreshMs`, so a rotation made by any instance reaches every
// instance within that time. A kid we do not know triggers an early reload, but at most
// once per `unknownKidReloadMs`, so tokens with made-up kids cannot turn into a query
// each. If a reload fails the last good state keeps serving (the database is down, the
// keys are not wrong) and the failure is reported to `onRefreshError`.
//
// A key withdrawn at once (`keys retire-signing --now`) cannot wait for the next reload.
// The source is a cache like the others (core/cache.ts): the change that revokes a key
// records a `signing_key` target, which becomes the `signing_keys` tag, announced to every
// instance over Redis; `invalidate` then drops the loaded state, and the next call reloads
// it. A load that was in flight when the tag arrived is not kept. Without the message (no
// Redis, or a message lost), `withdrawn()` is the cheap check a watcher runs every few
// seconds (watch-signing-keys.ts).
import type { KeyObject } from 'node:crypto';
import type { Invalidatable } from '../../core/cache.ts';
import { SIGNING_KEYS_TAG } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { MAX_SIGNING_STATE_AGE_MS } from './limits.ts';
import { KID_PATTERN, publicKeyOf, type PublicSigningJWK } from './signing-key-material.ts';
import { countTrustedSigningKeys, loadSigningState } from './signing-keys.ts';

export interface ActiveSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

export interface JWKSet {
  readonly keys: readonly PublicSigningJWK[];
}

export interface SigningKeySource extends Invalidatable {
  /** The key to sign with now. */
  current(): Promise<ActiveSigningKey>;
  /** A published public key by kid; null if it is not (or no longer) published. */
  publicKey(kid: string): Promise<KeyObject | null>;
  jwks(): Promise<JWKSet>;
  /**
   * Whether a key this source trusts may no longer verify (revoked, or past its
   * publication window): one small query, no key unwrapped. False before the first load.
   */
  withdrawn(): Promise<boolean>;
}

export interface SigningKeySourceDeps {
  readonly keyring: Keyring;
  readonly clock: Clock;
  /** At most MAX_SIGNING_STATE_AGE_MS: rotation's publication window relies on it. */
  readonly refreshMs: number;
  readonly unknownKidReloadMs?: number;
  readonly onRefreshError?: (error: unknown) => void;
}

const DEFAULT_UNKNOWN_KID_RELOAD_MS = 5_000;
// After a failed reload, serve the old state this long before trying the database again,
// rather than making every request wait on a dead connection.
const RETRY_AFTER_FAILURE_MS = 5_000;

interface LoadedState {
  readonly active: ActiveSigningKey;
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  readonly jwks: JWKSet;
  readonly loadedAt: number;
}

function assertInterval(name: string, ms: number, max: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > max) throw new RangeError(`${name} must be an integer from 0 to ${max} ms`);
}

export function createSigningKeySource(db: DB, deps: SigningKeySourceDeps): SigningKeySource {
  const { keyring, clock, refreshMs } = deps;
  const unknownKidReloadMs = deps.unknownKidReloadMs ?? DEFAULT_UNKNOWN_KID_RELOAD_MS;
  assertInterval('refreshMs', refreshMs, MAX_SIGNING_STATE_AGE_MS);
  assertInterval('unknownKidReloadMs', unknownKidReloadMs, MAX_SIGNING_STATE_AGE_MS);

  let loaded: LoadedState | null = null;
  let inFlight: Promise<LoadedState> | null = null;
  let retryAt = 0;
  // Bumped by every invalidation: a load started before one does not become `loaded`.
  let generation = 0;
  let stale = false;
  let lastUnknownKidReload = Number.NEGATIVE_INFINITY;
  const now = (): number => clock().getTime();

  async function load(): Promise<LoadedState> {
    const started = generation;
    const loadedAt = now();
    const state = await loadSigningState(db, keyring, clock);
    // One KeyObject per key for the life of this state: jose caches its conversion per object.
    const publicKeys = new Map(state.jwks.map((jwk) => [jwk.kid, publicKeyOf(jwk)] as const));
    const read: LoadedState = { active: { kid: state.activeKid, privateKey: state.privateKey }, publicKeys, jwks: { keys: state.jwks }, loadedAt };
    if (started === generation) {
      loaded = read;
      stale = false;
    }
    return read;
  }

  // The last good state is kept, to serve if the database cannot be read (as after a
  // failed reload); it is just no longer fresh, and no backoff delays the reload.
  function forget(): void {
    generation += 1;
    stale = true;
    inFlight = null;
    retryAt = 0;
  }

  // Concurrent callers share one query.
  function reload(): Promise<LoadedState> {
    if (inFlight !== null) return inFlight;
    const loading = load().finally(() => {
      // A load dropped by `forget` must not clear the slot of the one that replaced it.
      if (inFlight === loading) inFlight = null;
    });
    inFlight = loading;
    return loading;
  }

  async function fresh(): Promise<LoadedState> {
    const at = now();
    // A clock that went backwards counts as stale.
    if (loaded !== null && !stale && at >= loaded.loadedAt && at - loaded.loadedAt < refreshMs) return loaded;
    if (loaded !== null && at < retryAt) return loaded;
    try {
      return await reload();
    } catch (error) {
      if (loaded === null) throw error;
      retryAt = at + RETRY_AFTER_FAILURE_MS;
      deps.onRefreshError?.(error);
      return loaded;
    }
  }

  async function reloadForUnknownKid(): Promise<LoadedState | null> {
    const at = now();
    if (at >= lastUnknownKidReload && at - lastUnknownKidReload < unknownKidReloadMs) return null;
    lastUnknownKidReload = at;
    try {
      return await reload();
    } catch (error) {
      deps.onRefreshError?.(error);
      return null;
    }
  }

  return {
    async current() {
      return (await fresh()).active;
    },
    async publicKey(kid) {
      // A kid we could never have issued is not worth a reload.
      if (!KID_PATTERN.test(kid)) return null;
      const known = (await fresh()).publicKeys.get(kid);
      if (known !== undefined) return known;
      return (await reloadForUnknownKid())?.publicKeys.get(kid) ?? null;
    },
    async jwks() {
      return (await fresh()).jwks;
    },
    async withdrawn() {
      const state = loaded;
      // Nothing trusted yet, or already due for a reload.
      if (state === null || stale) return false;
      const kids = [...state.publicKeys.keys()];
      return (await countTrustedSigningKeys(db, kids, clock())) !== kids.length;
    },
    invalidate(tag) {
      if (tag === SIGNING_KEYS_TAG) forget();
    },
    clear: forget,
  };
}
