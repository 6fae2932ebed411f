// Signing and verification read keys through this cache, not the database: the state is
// reloaded at most every `refreshMs`, so a rotation made by any instance reaches every
// instance within that time. A kid we do not know triggers an early reload, but at most
// once per `unknownKidReloadMs`, so tokens with made-up kids cannot turn into a query
// each. If a reload fails the last good state keeps serving (the database is down, the
// keys are not wrong) and the failure is reported to `onRefreshError`.
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { MAX_SIGNING_STATE_AGE_MS } from './limits.ts';
import { KID_PATTERN, publicKeyOf, type PublicSigningJWK } from './signing-key-material.ts';
import { loadSigningState } from './signing-keys.ts';

export interface ActiveSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

export interface JWKSet {
  readonly keys: readonly PublicSigningJWK[];
}

export interface SigningKeySource {
  /** The key to sign with now. */
  current(): Promise<ActiveSigningKey>;
  /** A published public key by kid; null if it is not (or no longer) published. */
  publicKey(kid: string): Promise<KeyObject | null>;
  jwks(): Promise<JWKSet>;
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
  let lastUnknownKidReload = Number.NEGATIVE_INFINITY;
  const now = (): number => clock().getTime();

  async function load(): Promise<LoadedState> {
    const loadedAt = now();
    const state = await loadSigningState(db, keyring, clock);
    // One KeyObject per key for the life of this state: jose caches its conversion per object.
    const publicKeys = new Map(state.jwks.map((jwk) => [jwk.kid, publicKeyOf(jwk)] as const));
    loaded = { active: { kid: state.activeKid, privateKey: state.privateKey }, publicKeys, jwks: { keys: state.jwks }, loadedAt };
    return loaded;
  }

  // Concurrent callers share one query.
  function reload(): Promise<LoadedState> {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  async function fresh(): Promise<LoadedState> {
    const at = now();
    // A clock that went backwards counts as stale.
    if (loaded !== null && at >= loaded.loadedAt && at - loaded.loadedAt < refreshMs) return loaded;
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
  };
}
