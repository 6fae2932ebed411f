// A blind index lets the server find a row by an encrypted value (look up a user by
// email) without storing the value in the clear: the column holds a keyed HMAC of the
// normalized value. Without the key, a stolen database cannot be searched or dictionary-
// attacked. The key is a system key (getOrCreateSystemKey(db, keyring, 'blind-index')),
// so indexes survive master-key rotations unchanged.
//
// The key itself rotates online (`gatehouse keys rotate-blind-index`, blind-index-keys.ts):
// while rows move from the old key's index to the new one, a lookup tries both
// (`emailCandidates`) and every write uses the new one (`email`).
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { DB } from '../db/database.ts';

export const BLIND_INDEX_PURPOSE = 'blind-index';
const MIN_KEY_BYTES = 32;
const EMAIL_INFO = 'gatehouse blind-index email v1';

export interface BlindIndex {
  /** The id of the system key that `email` uses: stored beside each index written. */
  readonly keyId: string;
  /** The index to write for an email address: equal for addresses that differ only in case or padding. */
  email(value: string): string;
  /**
   * Every index a stored row of this address may have: the written key's first, then,
   * during a rotation, the other key's. Look rows up with all of them.
   */
  emailCandidates(value: string): string[];
  /**
   * The index in force for a transaction that writes email indexes (registration). With a
   * rotation, it reads the rotation state in `trx`, holding it until the commit, so a
   * rotation cannot start or finish between this write's uniqueness check and its insert.
   */
  forWrite(trx: DB): Promise<BlindIndex>;
}

export interface BlindIndexOptions {
  /** The system key id of `key` (default: the purpose itself, the first key). */
  readonly keyId?: string;
  /** A rotation's other key (the one being retired, or the one announced): its indexes are looked up too. */
  readonly alsoLookUp?: Buffer;
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

function emailIndexer(key: Buffer): (value: string) => string {
  if (key.length < MIN_KEY_BYTES) throw new TypeError(`a blind-index key needs at least ${MIN_KEY_BYTES} bytes`);
  const emailKey = deriveKey(key, EMAIL_INFO);
  return (value) => createHmac('sha256', emailKey).update(normalizeEmail(value), 'utf8').digest('base64url');
}

/** A blind index over fixed keys: `forWrite` answers itself. */
export function createBlindIndex(key: Buffer, options: BlindIndexOptions = {}): BlindIndex {
  const email = emailIndexer(key);
  const previous = options.alsoLookUp === undefined ? null : emailIndexer(options.alsoLookUp);
  const index: BlindIndex = {
    keyId: options.keyId ?? BLIND_INDEX_PURPOSE,
    email,
    emailCandidates(value) {
      return previous === null ? [email(value)] : [email(value), previous(value)];
    },
    forWrite() {
      return Promise.resolve(index);
    },
  };
  return index;
}
