// Field encryption for callers that think in owners, not data keys: each call loads the
// owner's data key, uses it, and drops it; nothing secret outlives the call.
import type { DB } from '../db/database.ts';
import { CryptoError } from './aead.ts';
import { decryptField, encryptField, loadDataKey, loadDataKeyToSeal, type FieldContext } from './envelope.ts';
import type { Keyring } from './keyring.ts';

export interface FieldCipherDeps {
  readonly db: DB;
  readonly keyring: Keyring;
}

export interface FieldCipherOptions {
  /**
   * The transaction to read the data key in. Pass it whenever the call happens inside a
   * transaction: on PGlite the root handle would wait for that transaction forever, and
   * on PostgreSQL it would not see a data key the transaction has just created.
   */
  readonly db?: DB;
}

export interface FieldCipher {
  /** Throws `CryptoError` when the owner has no data key: a shredded owner stays shredded. */
  encrypt(ownerId: string, context: FieldContext, plaintext: string, options?: FieldCipherOptions): Promise<string>;
  /** Throws `CryptoError` when the owner has no data key or the ciphertext is not for `context`. */
  decrypt(ownerId: string, context: FieldContext, ciphertext: string, options?: FieldCipherOptions): Promise<string>;
}

export function createFieldCipher(deps: FieldCipherDeps): FieldCipher {
  // Encrypting locks the key's row for the caller's transaction (loadDataKeyToSeal): a
  // data-key rotation cannot destroy the key while a value sealed under it is uncommitted.
  async function withDataKey<T>(ownerId: string, options: FieldCipherOptions & { readonly seal?: true }, use: (dek: Buffer) => T): Promise<T> {
    const load = options.seal === true ? loadDataKeyToSeal : loadDataKey;
    const dek = await load(options.db ?? deps.db, deps.keyring, ownerId);
    if (dek === null) throw new CryptoError('missing_data_key');
    try {
      return use(dek);
    } finally {
      dek.fill(0);
    }
  }

  return {
    encrypt(ownerId, context, plaintext, options = {}) {
      return withDataKey(ownerId, { ...options, seal: true }, (dek) => encryptField(dek, context, plaintext));
    },
    decrypt(ownerId, context, ciphertext, options = {}) {
      return withDataKey(ownerId, options, (dek) => decryptField(dek, context, ciphertext));
    },
  };
}
