// A blind index lets the server find a row by an encrypted value (look up a user by
// email) without storing the value in the clear: the column holds a keyed HMAC of the
// normalized value. Without the key, a stolen database cannot be searched or dictionary-
// attacked. The key is a system key (getOrCreateSystemKey(db, keyring, 'blind-index')),
// so indexes survive master-key rotations unchanged.
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

export const BLIND_INDEX_PURPOSE = 'blind-index';
const MIN_KEY_BYTES = 32;
const EMAIL_INFO = 'gatehouse blind-index email v1';

export interface BlindIndex {
  /** The index of an email address: equal for addresses that differ only in case or padding. */
  email(value: string): string;
}

// One subkey per kind of value (RFC 5869 `info`), so an email index can never equal the
// index of another kind of value added later, and each can be versioned on its own.
function deriveKey(key: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32)));
}

// NFKC folds compatibility forms (full-width letters, ligatures) to their plain letters;
// lowercasing then makes `Alice@Example.COM` and `alice@example.com` one address. The
// local part is case-sensitive in theory (RFC 5321 §2.4), never in practice.
function normalizeEmail(value: string): string {
  return value.trim().normalize('NFKC').toLowerCase();
}

export function createBlindIndex(key: Buffer): BlindIndex {
  if (key.length < MIN_KEY_BYTES) throw new TypeError(`a blind-index key needs at least ${MIN_KEY_BYTES} bytes`);
  const emailKey = deriveKey(key, EMAIL_INFO);
  return {
    email(value) {
      return createHmac('sha256', emailKey).update(normalizeEmail(value), 'utf8').digest('base64url');
    },
  };
}
