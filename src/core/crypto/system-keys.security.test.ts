import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createKeyring, CryptoError } from './keyring.ts';
import { getOrCreateSystemKey } from './system-keys.ts';

for (const engine of testEngines()) {
  describe(`system key attacks on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });

    it('instances racing to create the same key on first start all end up with one key', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => getOrCreateSystemKey(test.database.db, keyring, 'raced')),
      );
      const distinct = new Set(results.map((result) => result.key.toString('base64url')));
      assert.equal(distinct.size, 1);
      const stored = await getOrCreateSystemKey(test.database.db, keyring, 'raced');
      assert.ok(distinct.has(stored.key.toString('base64url')));
    });

    it("a wrapped system key copied onto another purpose's row is refused", async () => {
      const db = test.database.db;
      await getOrCreateSystemKey(db, keyring, 'victim');
      await getOrCreateSystemKey(db, keyring, 'target');
      const stolen = await db.selectFrom('system_keys').select('wrapped_key').where('id', '=', 'victim').executeTakeFirstOrThrow();
      await db.updateTable('system_keys').set({ wrapped_key: stolen.wrapped_key }).where('id', '=', 'target').execute();
      await assert.rejects(getOrCreateSystemKey(db, keyring, 'target'), CryptoError);
    });
  });
}
