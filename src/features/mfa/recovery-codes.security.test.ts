// Attacks on recovery codes: spending one code twice (also in parallel), using another
// account's code, keeping an old set after regeneration, reading codes from the table,
// and input that is not a code.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { createBlindIndex } from '../../core/crypto/blind-index.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { insertUser } from '../users/index.ts';
import { countUnusedRecoveryCodes, createRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT, replaceRecoveryCodes, spendRecoveryCode } from './recovery-codes.ts';

const crypto = { keyring: createKeyring([{ id: 'test', key: randomBytes(32) }]), blindIndex: createBlindIndex(randomBytes(32)) };

async function newUser(db: DB): Promise<string> {
  const id = await insertUser(db, crypto, { email: `codes.${randomBytes(6).toString('hex')}@example.test`, name: null, passwordHash: null, emailVerified: true, now: new Date() });
  assert.ok(id !== null);
  return id;
}

describe('recovery code format', () => {
  it('has 80 bits from the CSPRNG in 16 base32 symbols, grouped by four, all different', () => {
    const codes = Array.from({ length: 200 }, createRecoveryCode);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.match(code, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    // Every symbol position takes many values: no stuck bits.
    for (let position = 0; position < 19; position++) {
      if (position % 5 === 4) continue;
      assert.ok(new Set(codes.map((code) => code[position])).size > 16, `position ${position}`);
    }
  });

  it('forgives case, hyphens and spaces, and refuses anything else before hashing', () => {
    const code = createRecoveryCode();
    const plain = code.replaceAll('-', '');
    for (const typed of [code, code.toUpperCase(), plain, ` ${code.replaceAll('-', ' ')} `]) assert.equal(normalizeRecoveryCode(typed), plain, typed);
    for (const bad of ['', plain.slice(1), `${plain}a`, plain.replace(/^./, '0'), plain.replace(/^./, 'é'), 'a'.repeat(100_000)]) {
      assert.equal(normalizeRecoveryCode(bad), null, bad.slice(0, 20));
    }
  });
});

for (const engine of testEngines()) {
  describe(`recovery code attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('a code is single use: 20 parallel uses of one code, exactly one succeeds', async () => {
      const db = database().db;
      const userId = await newUser(db);
      const [code] = await replaceRecoveryCodes(db, userId, new Date());
      assert.ok(code !== undefined);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => spendRecoveryCode(db, userId, code, new Date())));
      assert.equal(outcomes.filter(Boolean).length, 1);
      assert.equal(await spendRecoveryCode(db, userId, code, new Date()), false);
      assert.equal(await countUnusedRecoveryCodes(db, userId), RECOVERY_CODE_COUNT - 1);
    });

    it('regeneration invalidates the whole old set', async () => {
      const db = database().db;
      const userId = await newUser(db);
      const old = await replaceRecoveryCodes(db, userId, new Date());
      const fresh = await replaceRecoveryCodes(db, userId, new Date());
      assert.equal(fresh.length, RECOVERY_CODE_COUNT);
      for (const code of old) assert.equal(await spendRecoveryCode(db, userId, code, new Date()), false);
      assert.equal(await spendRecoveryCode(db, userId, fresh[0] ?? '', new Date()), true);
    });

    it('another account\'s code opens nothing', async () => {
      const db = database().db;
      const victim = await newUser(db);
      const attacker = await newUser(db);
      const [attackerCode] = await replaceRecoveryCodes(db, attacker, new Date());
      await replaceRecoveryCodes(db, victim, new Date());
      assert.equal(await spendRecoveryCode(db, victim, attackerCode ?? '', new Date()), false);
      assert.equal(await countUnusedRecoveryCodes(db, attacker), RECOVERY_CODE_COUNT, 'and it is not spent either');
    });

    it('the table holds only SHA-256 digests, never a code; deleting the user deletes them', async () => {
      const db = database().db;
      const userId = await newUser(db);
      const codes = await replaceRecoveryCodes(db, userId, new Date());
      const rows = await db.selectFrom('mfa_recovery_codes').selectAll().where('user_id', '=', userId).execute();
      assert.equal(rows.length, RECOVERY_CODE_COUNT);
      const stored = JSON.stringify(rows);
      for (const code of codes) {
        assert.equal(stored.includes(code), false);
        assert.equal(stored.includes(code.replaceAll('-', '')), false);
      }
      assert.deepEqual(
        new Set(rows.map((row) => row.code_hash)),
        new Set(codes.map((code) => createHash('sha256').update(code.replaceAll('-', '')).digest('hex'))),
      );
      await db.deleteFrom('users').where('id', '=', userId).execute();
      assert.equal((await db.selectFrom('mfa_recovery_codes').select('user_id').where('user_id', '=', userId).execute()).length, 0);
    });
  });
}
