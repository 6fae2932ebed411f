// Attacks on the stored TOTP factor: reading the secret from the table, moving a sealed
// secret to another account, replaying a code (also in parallel), reusing an older code
// after a newer one, enrolling over a confirmed factor, and what deletion leaves.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Secret } from 'otpauth';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { createBlindIndex } from '../../core/crypto/blind-index.ts';
import { shredDataKey } from '../../core/crypto/envelope.ts';
import { createKeyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { insertUser } from '../users/index.ts';
import { claimTotpStep, deleteTotp, loadTotp, saveTotpEnrolment } from './repo.ts';
import { createTotpSecret, matchTotp, totpCodeAt, totpStep } from './totp.ts';

const keyring = createKeyring([{ id: 'test', key: randomBytes(32) }]);
const crypto = { keyring, blindIndex: createBlindIndex(randomBytes(32)) };

async function newUser(db: DB): Promise<string> {
  const id = await insertUser(db, crypto, { email: `mfa.${randomBytes(6).toString('hex')}@example.test`, name: null, passwordHash: null, emailVerified: true, now: new Date() });
  assert.ok(id !== null);
  return id;
}

async function sealedOf(db: DB, userId: string): Promise<string> {
  const stored = await loadTotp(db, keyring, userId);
  assert.ok(stored !== null);
  return stored.sealed;
}

async function enrolled(db: DB, options: { readonly confirmed: boolean }): Promise<{ userId: string; secret: ReturnType<typeof createTotpSecret> }> {
  const userId = await newUser(db);
  const secret = createTotpSecret();
  assert.equal(await saveTotpEnrolment(db, keyring, userId, secret, new Date()), true);
  if (options.confirmed) assert.equal(await claimTotpStep(db, userId, 1, { confirm: { at: new Date(), sealed: await sealedOf(db, userId) } }), true);
  return { userId, secret };
}

for (const engine of testEngines()) {
  describe(`TOTP factor attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);

    it('a reader of the table learns nothing of the secret: it is sealed under the owner\'s data key', async () => {
      const db = database().db;
      const { userId, secret } = await enrolled(db, { confirmed: true });
      const row = await db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
      const raw = Buffer.from(Secret.fromBase32(secret.base32).bytes);
      for (const form of [secret.base32, raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')]) {
        assert.equal(row.secret_ciphertext.includes(form), false, form);
      }
      assert.equal((await loadTotp(db, keyring, userId))?.secret.base32, secret.base32, 'the owner\'s key opens it');
    });

    it('a sealed secret copied onto another account\'s row does not open there', async () => {
      const db = database().db;
      const victim = await enrolled(db, { confirmed: true });
      const attacker = await enrolled(db, { confirmed: true });
      const sealed = (await db.selectFrom('mfa_totp').select('secret_ciphertext').where('user_id', '=', victim.userId).executeTakeFirstOrThrow()).secret_ciphertext;
      await db.updateTable('mfa_totp').set({ secret_ciphertext: sealed }).where('user_id', '=', attacker.userId).execute();
      await assert.rejects(loadTotp(db, keyring, attacker.userId));
    });

    it('a code is accepted once: 20 parallel submissions of one code, exactly one succeeds', async () => {
      const db = database().db;
      const { userId, secret } = await enrolled(db, { confirmed: true });
      const now = new Date();
      const matched = matchTotp(secret, totpCodeAt(secret, totpStep(now)), now);
      assert.equal(matched, totpStep(now));
      const step = totpStep(now);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => claimTotpStep(db, userId, step)));
      assert.equal(outcomes.filter(Boolean).length, 1);
      assert.equal(await claimTotpStep(db, userId, step), false, 'and not again later within its window');
    });

    it('after a code is used, an older still-valid code (the previous step) is refused', async () => {
      const db = database().db;
      const { userId } = await enrolled(db, { confirmed: true });
      const step = totpStep(new Date());
      assert.equal(await claimTotpStep(db, userId, step), true);
      assert.equal(await claimTotpStep(db, userId, step - 1), false);
      assert.equal(await claimTotpStep(db, userId, step + 1), true, 'the next step is a new code');
    });

    it('an unconfirmed enrolment is no second factor, and confirming takes its step; a confirmed factor cannot be re-enrolled over', async () => {
      const db = database().db;
      const { userId } = await enrolled(db, { confirmed: false });
      const step = totpStep(new Date());
      assert.equal(await claimTotpStep(db, userId, step), false, 'an unconfirmed factor verifies nothing');
      const sealed = await sealedOf(db, userId);
      assert.equal(await claimTotpStep(db, userId, step, { confirm: { at: new Date(), sealed } }), true);
      assert.equal(await claimTotpStep(db, userId, step + 1, { confirm: { at: new Date(), sealed } }), false, 'a confirmed factor is not confirmed again');
      assert.equal(await claimTotpStep(db, userId, step), false, 'the confirming code cannot then log in');
      assert.equal(await saveTotpEnrolment(db, keyring, userId, createTotpSecret(), new Date()), false, 'an attacker with a session cannot swap the secret');
      assert.equal((await loadTotp(db, keyring, userId))?.confirmed, true);
    });

    it('a code checked against one pending secret cannot confirm the secret a parallel restart put in its place', async () => {
      const db = database().db;
      const { userId } = await enrolled(db, { confirmed: false });
      const checked = await sealedOf(db, userId);
      assert.equal(await saveTotpEnrolment(db, keyring, userId, createTotpSecret(), new Date()), true, 'the enrolment restarts meanwhile');
      assert.equal(await claimTotpStep(db, userId, totpStep(new Date()), { confirm: { at: new Date(), sealed: checked } }), false);
      assert.equal((await loadTotp(db, keyring, userId))?.confirmed, false);
    });

    it('a restarted enrolment replaces the unconfirmed secret', async () => {
      const db = database().db;
      const { userId, secret } = await enrolled(db, { confirmed: false });
      const next = createTotpSecret();
      assert.equal(await saveTotpEnrolment(db, keyring, userId, next, new Date()), true);
      const stored = await loadTotp(db, keyring, userId);
      assert.notEqual(stored?.secret.base32, secret.base32);
      assert.equal(stored?.secret.base32, next.base32);
    });

    it('deleting the user deletes the factor; shredding the data key makes the secret unrecoverable', async () => {
      const db = database().db;
      const deleted = await enrolled(db, { confirmed: true });
      await db.deleteFrom('users').where('id', '=', deleted.userId).execute();
      assert.equal((await db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', deleted.userId).execute()).length, 0);
      const shredded = await enrolled(db, { confirmed: true });
      await shredDataKey(db, shredded.userId);
      assert.equal(await loadTotp(db, keyring, shredded.userId), null);
      assert.equal(await deleteTotp(db, shredded.userId), true);
    });
  });
}
