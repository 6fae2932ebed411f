import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createKeyring } from './keyring.ts';
import { getOrCreateSystemKey } from './system-keys.ts';

for (const engine of testEngines()) {
  describe(`system keys on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });

    it('creates a 32-byte key on first use and returns the same key afterwards', async () => {
      const first = await getOrCreateSystemKey(test.database.db, keyring, 'stable');
      assert.equal(first.id, 'stable');
      assert.equal(first.key.length, 32);
      const second = await getOrCreateSystemKey(test.database.db, keyring, 'stable');
      assert.deepEqual(second, first);
    });

    it('stores the key wrapped under the current master key, with the purpose as its id', async () => {
      const { key } = await getOrCreateSystemKey(test.database.db, keyring, 'stored');
      const row = await test.database.db.selectFrom('system_keys').selectAll().where('id', '=', 'stored').executeTakeFirstOrThrow();
      assert.equal(row.purpose, 'stored');
      assert.equal(row.master_key_id, 'k1');
      assert.match(row.wrapped_key, /^v1\.k1\./);
      assert.ok(!row.wrapped_key.includes(key.toString('base64url')));
    });

    it('gives each purpose its own key', async () => {
      const blind = await getOrCreateSystemKey(test.database.db, keyring, 'purpose-a');
      const audit = await getOrCreateSystemKey(test.database.db, keyring, 'purpose-b');
      assert.notDeepEqual(blind.key, audit.key);
    });

    it('refuses purposes outside lowercase letters, digits and dashes', async () => {
      for (const purpose of ['', 'Blind', 'a b', 'a:b', '-a', 'x'.repeat(64)]) {
        await assert.rejects(getOrCreateSystemKey(test.database.db, keyring, purpose), TypeError);
      }
    });
  });
}
