import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { uuidv7 } from './ids.ts';
import { createKeyring } from './keyring.ts';
import { createDataKey, decryptBytes, decryptField, encryptBytes, encryptField, loadDataKey, shredDataKey, type FieldContext } from './envelope.ts';

const EMAIL: FieldContext = { table: 'users', column: 'email', rowId: '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b' };

describe('binary encryption (uploaded files)', () => {
  const CONTENT: FieldContext = { table: 'user_files', column: 'content', rowId: '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b' };

  it('round-trips bytes, empty included, and opens only in its own place, under its own key', () => {
    const dek = randomBytes(32);
    for (const value of [Buffer.alloc(0), randomBytes(1), randomBytes(100_000)]) {
      const sealed = encryptBytes(dek, CONTENT, value);
      assert.deepEqual(sealed.subarray(0, 2), Buffer.from('b1'));
      assert.deepEqual(decryptBytes(dek, CONTENT, new Uint8Array(sealed)), value);
    }
    const sealed = encryptBytes(dek, CONTENT, Buffer.from('secret'));
    assert.throws(() => decryptBytes(dek, { ...CONTENT, rowId: '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c' }, sealed), { name: 'CryptoError' });
    assert.throws(() => decryptBytes(dek, { ...CONTENT, column: 'name' }, sealed), { name: 'CryptoError' });
    assert.throws(() => decryptBytes(randomBytes(32), CONTENT, sealed), { name: 'CryptoError' });
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    assert.throws(() => decryptBytes(dek, CONTENT, tampered), { name: 'CryptoError' });
    assert.throws(() => decryptBytes(dek, CONTENT, Buffer.from('b1short')), { name: 'CryptoError' });
  });
});

describe('field encryption', () => {
  it('round-trips text of any kind, including the empty string', () => {
    const dek = randomBytes(32);
    for (const value of ['alice@example.com', '', 'Zoë 🦊 名前', 'x'.repeat(10_000)]) {
      assert.equal(decryptField(dek, EMAIL, encryptField(dek, EMAIL, value)), value);
    }
  });

  it('writes f1.<iv>.<ciphertext+tag> with a fresh IV each time', () => {
    const dek = randomBytes(32);
    const first = encryptField(dek, EMAIL, 'alice@example.com');
    assert.match(first, /^f1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    assert.notEqual(first, encryptField(dek, EMAIL, 'alice@example.com'));
  });

  it('refuses text that would not round-trip, an empty context part and a short key', () => {
    const dek = randomBytes(32);
    assert.throws(() => encryptField(dek, EMAIL, 'a\uD800b'), TypeError);
    assert.throws(() => encryptField(dek, { ...EMAIL, rowId: '' }, 'x'), TypeError);
    assert.throws(() => encryptField(randomBytes(16), EMAIL, 'x'), TypeError);
  });
});

for (const engine of testEngines()) {
  describe(`data keys on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });

    it('creates a 32-byte key per owner, stored only wrapped, and loads it back', async () => {
      const ownerId = uuidv7();
      const dek = await createDataKey(test.database.db, keyring, ownerId);
      assert.equal(dek.length, 32);
      assert.deepEqual(await loadDataKey(test.database.db, keyring, ownerId), dek);
      const row = await test.database.db.selectFrom('data_keys').selectAll().where('owner_id', '=', ownerId).executeTakeFirstOrThrow();
      assert.equal(row.master_key_id, 'k1');
      assert.match(row.wrapped_key, /^v1\.k1\./);
      assert.ok(!row.wrapped_key.includes(dek.toString('base64url')));
    });

    it('gives different owners different keys', async () => {
      const first = await createDataKey(test.database.db, keyring, uuidv7());
      const second = await createDataKey(test.database.db, keyring, uuidv7());
      assert.notDeepEqual(first, second);
    });

    it('never replaces an existing key: a second create returns the first key', async () => {
      const ownerId = uuidv7();
      const first = await createDataKey(test.database.db, keyring, ownerId);
      const results = await Promise.all([1, 2, 3].map(() => createDataKey(test.database.db, keyring, ownerId)));
      for (const again of results) assert.deepEqual(again, first);
    });

    it('loads null for an owner without a key, and shreds only existing keys', async () => {
      const ownerId = uuidv7();
      assert.equal(await loadDataKey(test.database.db, keyring, ownerId), null);
      assert.equal(await shredDataKey(test.database.db, ownerId), false);
      await createDataKey(test.database.db, keyring, ownerId);
      assert.equal(await shredDataKey(test.database.db, ownerId), true);
      assert.equal(await loadDataKey(test.database.db, keyring, ownerId), null);
    });

    it('works inside a transaction, and the key disappears with a rollback', async () => {
      const ownerId = uuidv7();
      await assert.rejects(
        test.database.db.transaction().execute(async (tx) => {
          const dek = await createDataKey(tx, keyring, ownerId);
          assert.deepEqual(await loadDataKey(tx, keyring, ownerId), dek);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(await loadDataKey(test.database.db, keyring, ownerId), null);
    });

    it('refuses owner ids that are not canonical lowercase UUIDs', async () => {
      await assert.rejects(createDataKey(test.database.db, keyring, uuidv7().toUpperCase()), TypeError);
      await assert.rejects(loadDataKey(test.database.db, keyring, 'alice'), TypeError);
    });
  });
}
