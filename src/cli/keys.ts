// `gatehouse keys rotate-master`. In production the operator puts a new key first in
// GATEHOUSE_MASTER_KEY (keeping the old ones after it) and runs this; in development the
// command generates the new key itself. Either way every wrapped key is re-wrapped in
// small batches while the server keeps serving; old keys can be dropped afterwards.
import type { Config } from '../config/config.ts';
import { appendDevelopmentMasterKey } from '../config/dev-keys.ts';
import { createKeyring } from '../core/crypto/keyring.ts';
import { rewrapAll } from '../core/crypto/rotate.ts';
import { rewrapSigningKeys } from '../features/tokens/rewrap.ts';
import { openCommandDatabase } from '../runtime.ts';

export async function rotateMaster(config: Config): Promise<number> {
  const keys = config.masterKeys ?? (await appendDevelopmentMasterKey(config.dataDir));
  const keyring = createKeyring(keys);
  const database = await openCommandDatabase(config);
  try {
    const counts = await rewrapAll(database.db, keyring);
    const signingKeys = await rewrapSigningKeys(database.db, keyring);
    process.stdout.write(
      `master key ${keyring.currentKeyId}: re-wrapped ${counts.dataKeys} data keys, ${counts.systemKeys} system keys and ${signingKeys} signing keys\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
