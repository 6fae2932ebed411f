// `keys rotate-master` for signing keys: the same compare-and-swap re-wrap as data and
// system keys (core/crypto/rotate.ts), for the private halves in signing_keys.
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { signingKeyAAD } from './signing-key-material.ts';

/** Re-wraps every signing key not under the current master key; returns how many. */
export async function rewrapSigningKeys(db: DB, keyring: Keyring): Promise<number> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'master_key_id', 'wrapped_private_key'])
    .where('master_key_id', '<>', keyring.currentKeyId)
    .orderBy('kid')
    .execute();
  let count = 0;
  for (const row of rows) {
    const aad = signingKeyAAD(row.kid);
    const secret = keyring.unwrap(row.wrapped_private_key, aad);
    let wrapped: string;
    try {
      wrapped = keyring.wrap(secret, aad);
    } finally {
      secret.fill(0);
    }
    const result = await db
      .updateTable('signing_keys')
      .set({ master_key_id: keyring.currentKeyId, wrapped_private_key: wrapped })
      .where('kid', '=', row.kid)
      .where('master_key_id', '=', row.master_key_id)
      .where('wrapped_private_key', '=', row.wrapped_private_key)
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) count += 1;
  }
  return count;
}
