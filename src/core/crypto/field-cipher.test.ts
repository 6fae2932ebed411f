import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createDataKey, decryptField, loadDataKey, shredDataKey, type FieldContext } from './envelope.ts';
import { createFieldCipher } from './field-cipher.ts';
import { uuidv7 } from './ids.ts';
import { createKeyring, CryptoError } from './keyring.ts';

for (const engine of testEngines()) {
  describe(`field cipher on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });

    function email(rowId: string): FieldContext {
      return { table: 'users', column: 'email', rowId };
    }

    it("encrypts under the owner's data key and decrypts it back", async () => {
      const cipher = createFieldCipher({ db: test.database.db, keyring });
      const ownerId = uuidv7();
      await createDataKey(test.database.db, keyring, ownerId);
      const ciphertext = await cipher.encrypt(ownerId, email(ownerId), 'alice@example.com');
      assert.equal(await cipher.decrypt(ownerId, email(ownerId), ciphertext), 'alice@example.com');
      const dek = await loadDataKey(test.database.db, keyring, ownerId);
      assert.ok(dek !== null);
      assert.equal(decryptField(dek, email(ownerId), ciphertext), 'alice@example.com');
    });

    it('runs inside the caller transaction when given it', async () => {
      const cipher = createFieldCipher({ db: test.database.db, keyring });
      const ownerId = uuidv7();
      const ciphertext = await test.database.db.transaction().execute(async (tx) => {
        await createDataKey(tx, keyring, ownerId);
        return cipher.encrypt(ownerId, email(ownerId), 'bob@example.com', { db: tx });
      });
      assert.equal(await cipher.decrypt(ownerId, email(ownerId), ciphertext), 'bob@example.com');
    });

    it('refuses to encrypt or decrypt for an owner whose key is gone, without re-creating one', async () => {
      const cipher = createFieldCipher({ db: test.database.db, keyring });
      const ownerId = uuidv7();
      await createDataKey(test.database.db, keyring, ownerId);
      const ciphertext = await cipher.encrypt(ownerId, email(ownerId), 'carol@example.com');
      await shredDataKey(test.database.db, ownerId);
      await assert.rejects(cipher.decrypt(ownerId, email(ownerId), ciphertext), CryptoError);
      await assert.rejects(cipher.encrypt(ownerId, email(ownerId), 'carol@example.com'), CryptoError);
      assert.equal(await loadDataKey(test.database.db, keyring, ownerId), null);
    });
  });
}
