// The master keyring wraps (encrypts) the server's own keys: per-owner data keys and
// system keys, never user data directly. Every wrapped value names the master key that
// wrapped it, so values written before a rotation still unwrap while the old key remains
// in the keyring, and `rewrapAll` can move them to the new one.
//
// Text form: `v1.<keyId>.<iv b64url>.<ciphertext+tag b64url>`. The GCM additional data is
// `v1.<keyId>.` followed by the caller's AAD: the header is authenticated and the AAD
// binds the value to its slot (`data-key:<owner>`), so it cannot be moved to another.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { MasterKey } from './master-key.ts';
import { AES_KEY_BYTES, CryptoError, decodeBase64url, open, seal } from './aead.ts';

export { CryptoError } from './aead.ts';

const VERSION = 'v1';
// The same rule as the keyring text (master-key.ts); it also keeps `.` out of key ids.
const KEY_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface Keyring {
  /** The id of keys[0], which wraps everything new. */
  readonly currentKeyId: string;
  wrap(plaintext: Buffer, aad: string): string;
  /** Throws `CryptoError` for anything that does not authenticate under a known key. */
  unwrap(wrapped: string, aad: string): Buffer;
  /** True when the value was not wrapped by the current key (or cannot be read at all). */
  needsRewrap(wrapped: string): boolean;
}

interface ParsedWrap {
  readonly keyId: string;
  readonly iv: Buffer;
  readonly sealed: Buffer;
}

function parseWrapped(wrapped: string): ParsedWrap | null {
  const parts = wrapped.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return null;
  const [, keyId = '', ivText = '', sealedText = ''] = parts;
  if (!KEY_ID_PATTERN.test(keyId)) return null;
  const iv = decodeBase64url(ivText);
  const sealed = decodeBase64url(sealedText);
  return iv === null || sealed === null ? null : { keyId, iv, sealed };
}

function additionalData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${aad}`, 'utf8');
}

function importKeys(keys: readonly MasterKey[]): Map<string, KeyObject> {
  if (keys.length === 0) throw new TypeError('the master keyring needs at least one key');
  const imported = new Map<string, KeyObject>();
  for (const { id, key } of keys) {
    if (!KEY_ID_PATTERN.test(id)) throw new TypeError('a master key id is invalid');
    if (key.length !== AES_KEY_BYTES) throw new TypeError(`master key "${id}" must be ${AES_KEY_BYTES} bytes`);
    if (imported.has(id)) throw new TypeError(`master key id "${id}" appears twice`);
    // A KeyObject copies the bytes and never prints them in logs or inspection.
    imported.set(id, createSecretKey(key));
  }
  return imported;
}

/** A keyring over `keys`, newest first: keys[0] wraps, every key unwraps what it wrapped. */
export function createKeyring(keys: readonly MasterKey[]): Keyring {
  const imported = importKeys(keys);
  const currentKeyId = keys[0]?.id ?? '';
  const currentKey = imported.get(currentKeyId);
  if (currentKey === undefined) throw new TypeError('the master keyring has no current key');

  return {
    currentKeyId,
    wrap(plaintext, aad) {
      const { iv, sealed } = seal(currentKey, plaintext, additionalData(currentKeyId, aad));
      return `${VERSION}.${currentKeyId}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
    },
    unwrap(wrapped, aad) {
      const parsed = parseWrapped(wrapped);
      if (parsed === null) throw new CryptoError('malformed');
      const key = imported.get(parsed.keyId);
      if (key === undefined) throw new CryptoError('unknown_key');
      return open(key, parsed.iv, parsed.sealed, additionalData(parsed.keyId, aad));
    },
    needsRewrap(wrapped) {
      return parseWrapped(wrapped)?.keyId !== currentKeyId;
    },
  };
}
