import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { testEngines } from '../../../test/helpers/database.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import { rewrapSigningKeys } from './rewrap.ts';
import { ensureSigningKeys, loadSigningState } from './signing-keys.ts';

const clock = (): Date => new Date();

for (const engine of testEngines()) {
  describe(`signing keys under master-key rotation on ${engine.engine}`, () => {
    it('are re-wrapped under the new master key and readable once the old key is gone', async () => {
      const test = await engine.open();
      try {
        const oldKey = { id: 'old', key: randomBytes(32) };
        const newKey = { id: 'new', key: randomBytes(32) };
        await ensureSigningKeys(test.database.db, { keyring: createKeyring([oldKey]), clock });
        const onlyNew = createKeyring([newKey]);
        await assert.rejects(loadSigningState(test.database.db, onlyNew, clock), 'the new key alone cannot read them yet');
        assert.equal(await rewrapSigningKeys(test.database.db, createKeyring([newKey, oldKey])), 2);
        const state = await loadSigningState(test.database.db, onlyNew, clock);
        assert.ok(state.activeKid.length > 0);
        assert.equal(await rewrapSigningKeys(test.database.db, onlyNew), 0, 'nothing left to do');
      } finally {
        await test.cleanup();
      }
    });
  });
}
