import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import { createDataKey, decryptField, encryptField, loadDataKey, shredDataKey, type FieldContext } from './envelope.ts';
import { uuidv7 } from './ids.ts';
import { createKeyring, CryptoError } from './keyring.ts';

const ROW_A = '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';
const ROW_B = '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c';
const EMAIL_A: FieldContext = { table: 'users', column: 'email', rowId: ROW_A };

function flipBit(ciphertext: string, index: number, byte: number): string {
  const parts = ciphertext.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x80;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('field ciphertext attacks', () => {
  const dek = randomBytes(32);
  const ciphertext = encryptField(dek, EMAIL_A, 'alice@example.com');

  it("a ciphertext copied onto another user's row is refused", () => {
    assert.throws(() => decryptField(dek, { ...EMAIL_A, rowId: ROW_B }, ciphertext), CryptoError);
  });

  it('a ciphertext moved to another column of the same row is refused', () => {
    assert.throws(() => decryptField(dek, { ...EMAIL_A, column: 'phone' }, ciphertext), CryptoError);
  });

  it('a ciphertext moved to another table is refused', () => {
    assert.throws(() => decryptField(dek, { ...EMAIL_A, table: 'recovery_contacts' }, ciphertext), CryptoError);
  });

  it('shifting the boundary between table, column and row id does not open a ciphertext', () => {
    const shifted = encryptField(dek, { table: 'users', column: 'email.backup', rowId: ROW_A }, 'x');
    assert.throws(() => decryptField(dek, { table: 'users.email', column: 'backup', rowId: ROW_A }, shifted), CryptoError);
    const joined = encryptField(dek, { table: 'a', column: 'b', rowId: `c\u0000${ROW_A}` }, 'x');
    assert.throws(() => decryptField(dek, { table: 'a', column: `b\u0000c`, rowId: ROW_A }, joined), CryptoError);
  });

  it('a flipped bit in the IV, the ciphertext or the tag is refused', () => {
    for (let byte = 0; byte < 12; byte += 1) assert.throws(() => decryptField(dek, EMAIL_A, flipBit(ciphertext, 1, byte)), CryptoError);
    const sealedLength = Buffer.from(ciphertext.split('.')[2] ?? '', 'base64url').length;
    for (let byte = 0; byte < sealedLength; byte += 1) assert.throws(() => decryptField(dek, EMAIL_A, flipBit(ciphertext, 2, byte)), CryptoError);
  });

  it("a field encrypted under one owner's key does not open under another's", () => {
    assert.throws(() => decryptField(randomBytes(32), EMAIL_A, ciphertext), CryptoError);
  });
});

for (const engine of testEngines()) {
  describe(`data key attacks on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    let test: TestDatabase;
    before(async () => {
      test = await engine.open();
    });
    after(async () => {
      await test.cleanup();
    });

    it("shredding an owner's data key leaves their fields unrecoverable while another owner's still decrypt", async () => {
      const db = test.database.db;
      const [alice, bob] = [uuidv7(), uuidv7()];
      const aliceKey = await createDataKey(db, keyring, alice);
      const bobKey = await createDataKey(db, keyring, bob);
      const aliceField = encryptField(aliceKey, { table: 'users', column: 'email', rowId: alice }, 'alice@example.com');
      const bobField = encryptField(bobKey, { table: 'users', column: 'email', rowId: bob }, 'bob@example.com');
      aliceKey.fill(0);

      assert.equal(await shredDataKey(db, alice), true);

      assert.equal(await loadDataKey(db, keyring, alice), null);
      const recreated = await createDataKey(db, keyring, alice);
      assert.throws(() => decryptField(recreated, { table: 'users', column: 'email', rowId: alice }, aliceField), CryptoError);
      const bobLoaded = await loadDataKey(db, keyring, bob);
      assert.ok(bobLoaded !== null);
      assert.equal(decryptField(bobLoaded, { table: 'users', column: 'email', rowId: bob }, bobField), 'bob@example.com');
    });

    it("a wrapped data key copied onto another owner's row is refused", async () => {
      const db = test.database.db;
      const [victim, attacker] = [uuidv7(), uuidv7()];
      await createDataKey(db, keyring, victim);
      await createDataKey(db, keyring, attacker);
      const stolen = await db.selectFrom('data_keys').select('wrapped_key').where('owner_id', '=', victim).executeTakeFirstOrThrow();
      await db.updateTable('data_keys').set({ wrapped_key: stolen.wrapped_key }).where('owner_id', '=', attacker).execute();
      await assert.rejects(loadDataKey(db, keyring, attacker), CryptoError);
    });
  });
}
