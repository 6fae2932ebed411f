// What `gatehouse keys rotate-signing` runs. Safe while instances serve: each picks up
// the new active key within its refresh interval, and tokens signed by the old key keep
// verifying until they expire. Relying parties that cache the JWKS for five minutes
// already hold the new active key, since it was published as `next` one rotation ago;
// rotating twice within five minutes skips that grace, so avoid it unless the old key
// is compromised.
import type { Database } from '../core/db/database.ts';
import { rotateSigningKeys, type RotatedSigningKeys, type RotateSigningKeysDeps } from '../features/tokens/signing-keys.ts';

export async function rotateSigningKeysCommand(database: Database, deps: RotateSigningKeysDeps): Promise<RotatedSigningKeys> {
  return rotateSigningKeys(database.db, deps);
}
