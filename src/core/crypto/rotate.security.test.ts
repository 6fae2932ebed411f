import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createDataKey, loadDataKey, shredDataKey } from './envelope.ts';
import { uuidv7 } from './ids.ts';
import { createKeyring } from './keyring.ts';
import type { MasterKey } from './master-key.ts';
import { rewrapAll, rewrapDataKey } from './rotate.ts';
import { getOrCreateSystemKey } from './system-keys.ts';

function masterKey(id: string): MasterKey {
  return { id, key: randomBytes(32) };
}

for (const engine of testEngines()) {
  describe(`master-key rotation attacks on ${engine.engine}`, () => {
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });
    // Rotation covers every row, so each test starts from empty key tables.
    beforeEach(async () => {
      await test.database.db.deleteFrom('data_keys').execute();
      await test.database.db.deleteFrom('system_keys').execute();
    });

    it('two rotations racing each other re-wrap each row exactly once and lose no key', async () => {
      const db = test.database.db;
      const oldKey = masterKey('old');
      const newKey = masterKey('new');
      const unrotated = createKeyring([oldKey]);
      const owners = Array.from({ length: 12 }, () => uuidv7());
      const keys = new Map<string, Buffer>();
      for (const owner of owners) keys.set(owner, await createDataKey(db, unrotated, owner));
      const systemKey = await getOrCreateSystemKey(db, unrotated, 'raced');

      const rotating = createKeyring([newKey, oldKey]);
      const runs = await Promise.all([1, 2, 3].map(() => rewrapAll(db, rotating, { batchSize: 4 })));
      assert.equal(runs.reduce((sum, run) => sum + run.dataKeys, 0), owners.length);
      assert.equal(runs.reduce((sum, run) => sum + run.systemKeys, 0), 1);

      const rotated = createKeyring([newKey]);
      for (const owner of owners) assert.deepEqual(await loadDataKey(db, rotated, owner), keys.get(owner));
      assert.deepEqual((await getOrCreateSystemKey(db, rotated, 'raced')).key, systemKey.key);
    });

    it('a stale read during rotation cannot overwrite a data key shredded and re-created meanwhile', async () => {
      const db = test.database.db;
      const oldKey = masterKey('old');
      // An instance not yet restarted with the new keyring still writes under the old key.
      const lagging = createKeyring([oldKey]);
      const owner = uuidv7();
      await createDataKey(db, lagging, owner);
      const stale = await db.selectFrom('data_keys').selectAll().where('owner_id', '=', owner).executeTakeFirstOrThrow();

      await shredDataKey(db, owner);
      const recreated = await createDataKey(db, lagging, owner);

      const rotating = createKeyring([masterKey('new'), oldKey]);
      assert.equal(await rewrapDataKey(db, rotating, stale), false);
      assert.deepEqual(await loadDataKey(db, rotating, owner), recreated);
    });
  });
}
