import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import type { DB } from '../db/database.ts';
import { BLIND_INDEX_PURPOSE, createBlindIndex } from './blind-index.ts';
import { createDataKey, decryptField, encryptField, loadDataKey, type FieldContext } from './envelope.ts';
import { uuidv7 } from './ids.ts';
import { createKeyring, CryptoError, type Keyring } from './keyring.ts';
import type { MasterKey } from './master-key.ts';
import { rewrapAll } from './rotate.ts';
import { getOrCreateSystemKey } from './system-keys.ts';

function masterKey(id: string): MasterKey {
  return { id, key: randomBytes(32) };
}

function email(ownerId: string): FieldContext {
  return { table: 'users', column: 'email', rowId: ownerId };
}

interface Fixture {
  readonly owners: { readonly id: string; readonly field: string; readonly value: string }[];
  readonly systemKeys: Map<string, Buffer>;
  readonly index: string;
}

async function seed(db: DB, keyring: Keyring, owners: number): Promise<Fixture> {
  const seeded: Fixture['owners'][number][] = [];
  for (let n = 0; n < owners; n += 1) {
    const id = uuidv7();
    const value = `user${n}@example.com`;
    seeded.push({ id, value, field: encryptField(await createDataKey(db, keyring, id), email(id), value) });
  }
  const systemKeys = new Map<string, Buffer>();
  for (const purpose of [BLIND_INDEX_PURPOSE, 'audit-chain', 'signing']) {
    systemKeys.set(purpose, (await getOrCreateSystemKey(db, keyring, purpose)).key);
  }
  const blindKey = systemKeys.get(BLIND_INDEX_PURPOSE);
  assert.ok(blindKey !== undefined);
  return { owners: seeded, systemKeys, index: createBlindIndex(blindKey).email('user0@example.com') };
}

async function assertReadable(db: DB, keyring: Keyring, fixture: Fixture): Promise<void> {
  for (const owner of fixture.owners) {
    const dek = await loadDataKey(db, keyring, owner.id);
    assert.ok(dek !== null);
    assert.equal(decryptField(dek, email(owner.id), owner.field), owner.value);
  }
  for (const [purpose, key] of fixture.systemKeys) {
    assert.deepEqual((await getOrCreateSystemKey(db, keyring, purpose)).key, key);
  }
  const blindKey = (await getOrCreateSystemKey(db, keyring, BLIND_INDEX_PURPOSE)).key;
  assert.equal(createBlindIndex(blindKey).email('User0@Example.com'), fixture.index);
}

async function masterKeyIds(db: DB): Promise<string[]> {
  const data = await db.selectFrom('data_keys').select('master_key_id').execute();
  const system = await db.selectFrom('system_keys').select('master_key_id').execute();
  return [...new Set([...data, ...system].map((row) => row.master_key_id))];
}

for (const engine of testEngines()) {
  describe(`master-key rotation on ${engine.engine}`, () => {
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

    it('keeps old rows readable, re-wraps every row in batches, then works without the old key', async () => {
      const db = test.database.db;
      const oldKey = masterKey('old');
      const newKey = masterKey('new');
      const fixture = await seed(db, createKeyring([oldKey]), 7);

      const rotating = createKeyring([newKey, oldKey]);
      await assertReadable(db, rotating, fixture);
      assert.deepEqual(await rewrapAll(db, rotating, { batchSize: 2 }), { dataKeys: 7, systemKeys: 3 });
      assert.deepEqual(await masterKeyIds(db), ['new']);
      const wrapped = await db.selectFrom('data_keys').select('wrapped_key').execute();
      for (const row of wrapped) assert.equal(rotating.needsRewrap(row.wrapped_key), false);

      await assertReadable(db, createKeyring([newKey]), fixture);
      assert.deepEqual(await rewrapAll(db, rotating), { dataKeys: 0, systemKeys: 0 });
    });

    it('rotates twice in a row, from a keyring still holding both older keys', async () => {
      const db = test.database.db;
      const [first, second, third] = [masterKey('first'), masterKey('second'), masterKey('third')];
      const fixture = await seed(db, createKeyring([first]), 3);
      await rewrapAll(db, createKeyring([second, first]));
      await seed(db, createKeyring([second, first]), 2);
      assert.deepEqual(await rewrapAll(db, createKeyring([third, second, first]), { batchSize: 1 }), { dataKeys: 5, systemKeys: 3 });
      await assertReadable(db, createKeyring([third]), fixture);
    });

    it('stops, naming the row and its key, when the keyring lacks a key that rows still use', async () => {
      const db = test.database.db;
      await seed(db, createKeyring([masterKey('lost')]), 1);
      await assert.rejects(rewrapAll(db, createKeyring([masterKey('new')])), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /master key "lost"/);
        assert.ok(error.cause instanceof CryptoError);
        return true;
      });
    });

    it('refuses a batch size that is not a positive integer', async () => {
      const db = test.database.db;
      const keyring = createKeyring([masterKey('k1')]);
      for (const batchSize of [0, -1, 1.5, 1_000_000]) {
        await assert.rejects(rewrapAll(db, keyring, { batchSize }), RangeError);
      }
    });
  });
}
