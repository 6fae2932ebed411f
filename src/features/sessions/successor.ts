// The successor of a refresh token is derived from it with a keyed HMAC instead of drawn
// at random, so that a retried refresh (same old token, within the reuse interval) can be
// answered with the same new token without the server ever storing a token in the clear:
// the database keeps only the successor's SHA-256, and the server recomputes the token
// from the one presented. Without the key (a system key, wrapped by the master keyring)
// nobody can compute a successor, so the chain is as unguessable as random tokens; the
// first token of every session (at login) is still 256 random bits.
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

export const REFRESH_SUCCESSOR_KEY_PURPOSE = 'refresh-successor';
const MIN_KEY_BYTES = 32;
const SUCCESSOR_INFO = 'gatehouse refresh-token successor v1';

export interface RefreshRotation {
  /** Seconds after a rotation in which presenting the spent token again is a retry; 0: strict single use. */
  readonly reuseIntervalSeconds: number;
  /** The refresh token that succeeds `token`: `ghr_` + base64url(HMAC-SHA-256(key, token)). */
  successorOf(token: string): string;
}

export function createRefreshRotation(key: Buffer, options: { reuseIntervalSeconds: number }): RefreshRotation {
  if (key.length < MIN_KEY_BYTES) throw new TypeError(`a refresh-successor key needs at least ${MIN_KEY_BYTES} bytes`);
  if (!Number.isSafeInteger(options.reuseIntervalSeconds) || options.reuseIntervalSeconds < 0) {
    throw new RangeError('the refresh-token reuse interval is a whole number of seconds, 0 or more');
  }
  // A subkey of its own (RFC 5869 `info`), so this HMAC can never equal another use of the key.
  const subkey: KeyObject = createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), SUCCESSOR_INFO, 32)));
  return {
    reuseIntervalSeconds: options.reuseIntervalSeconds,
    successorOf(token) {
      return `ghr_${createHmac('sha256', subkey).update(token, 'utf8').digest('base64url')}`;
    },
  };
}
