// AES-256-GCM, the one authenticated cipher behind the keyring and field encryption,
// and the one error every failed decryption turns into.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

export const AES_KEY_BYTES = 32;
// 96-bit random IVs (NIST SP 800-38D §8.2.2): each key here encrypts far fewer than the
// 2^32 messages after which a random-IV collision becomes a concern.
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** Why a decryption failed: for logs only, never for the caller's caller. */
export type CryptoFailure = 'malformed' | 'unknown_key' | 'authentication_failed' | 'missing_data_key';

/**
 * The single error for "this ciphertext cannot be opened". The message is fixed and says
 * nothing of the cause, so no caller can turn it into a padding- or tag-style oracle;
 * `detail` tells the operator which of a few coarse causes it was.
 */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  readonly code = 'crypto_failed';
  readonly detail: CryptoFailure;

  constructor(detail: CryptoFailure) {
    super('The data could not be decrypted.');
    this.detail = detail;
  }
}

export function isCryptoError(value: unknown): value is CryptoError {
  return value instanceof CryptoError;
}

export interface Sealed {
  readonly iv: Buffer;
  /** Ciphertext followed by the 16-byte tag. */
  readonly sealed: Buffer;
}

export function seal(key: KeyObject | Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, sealed: Buffer.concat([body, cipher.getAuthTag()]) };
}

export function open(key: KeyObject | Buffer, iv: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (iv.length !== IV_BYTES || sealed.length < TAG_BYTES) throw new CryptoError('malformed');
  // authTagLength pins the tag at 16 bytes: a truncated tag is refused, not brute-forced.
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    body.fill(0);
    throw new CryptoError('authentication_failed');
  }
}

/**
 * Decodes canonical base64url only. Node's decoder skips characters it does not know,
 * so without the round-trip check many texts would decode to the same bytes.
 */
export function decodeBase64url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}
