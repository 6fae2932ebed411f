// Data-key rotation (`gatehouse keys rotate-data-keys`): a user's rotation re-seals every
// sealed field under a new key and destroys the old one; a run of everything walks the
// users in batches while they log in, list their sessions and export their data, and
// everything reads the same before, during and after; a run stopped midway resumes where
// it stopped and rotates each user once; every step is audited and the chain verifies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { testEngines } from '../../../test/helpers/database.ts';
import { appPerSuite, createUser } from '../../../test/security/authz.fixtures.ts';
import { verifyAuditChain } from '../../core/audit/verify.ts';
import { CryptoError } from '../../core/crypto/aead.ts';
import { decryptField } from '../../core/crypto/envelope.ts';
import { dataKeyAAD } from '../../core/crypto/envelope.ts';
import { mfaAppPerSuite } from '../mfa/mfa.fixtures.ts';
import { DataKeyRotationError } from './rotate-user.ts';
import { resealedList } from './rotation-run.ts';
import { assertExportReadable, assertReadable, logIn, openEverySealedValue, rotateAll, rotateUser, seededAccount, type SeededAccount } from './data-keys.fixtures.ts';

for (const engine of testEngines()) {
  describe(`data-key rotation on ${engine.engine}`, { timeout: 240_000 }, () => {
    const suite = appPerSuite(engine);
    const chainVerifies = async (): Promise<void> => {
      const { test } = suite;
      const verified = await verifyAuditChain(test.database.db, test.services.auditKeys);
      assert.equal(verified.ok, true, JSON.stringify(verified));
    };

    it('rotating one user re-seals every sealed field under a new key, destroys the old key, and every read answers as before', async () => {
      const { test } = suite;
      const db = test.database.db;
      const account = await seededAccount(test, 'one', { totp: true });
      const before = await db.selectFrom('data_keys').select(['key_id', 'wrapped_key']).where('owner_id', '=', account.id).executeTakeFirstOrThrow();
      const oldKey = test.keyring.unwrap(before.wrapped_key, dataKeyAAD(account.id));
      const oldEmail = (await db.selectFrom('users').select('email_ciphertext').where('id', '=', account.id).executeTakeFirstOrThrow()).email_ciphertext;
      await assertReadable(test, account);

      const result = await rotateUser(test, account.id);
      assert.ok(result.outcome.status === 'rotated', result.outcome.status);
      assert.equal(result.outcome.oldKeyId, before.key_id);
      assert.deepEqual(result.outcome.fields, {
        'users.email_ciphertext': 1, 'users.name_ciphertext': 1, 'sessions.ip_sealed': 2, 'sessions.user_agent_sealed': 2,
        'mfa_totp.secret_ciphertext': 1, 'user_files.name_ciphertext': 2, 'user_files.content': 2,
      });

      const after = await db.selectFrom('data_keys').select(['key_id', 'wrapped_key']).where('owner_id', '=', account.id).executeTakeFirstOrThrow();
      assert.notEqual(after.key_id, before.key_id);
      assert.equal(await db.selectFrom('data_keys').select('owner_id').where('key_id', '=', before.key_id).executeTakeFirst(), undefined, 'no row holds the old key any more');
      assert.ok(!test.keyring.unwrap(after.wrapped_key, dataKeyAAD(account.id)).equals(oldKey), 'the new key is another key');
      const retired = await db.selectFrom('retired_data_keys').selectAll().where('key_id', '=', before.key_id).executeTakeFirstOrThrow();
      assert.equal(retired.owner_id, account.id);
      assert.equal(retired.rotation_id, result.rotationId);
      // The old key opens neither the current email nor anything else now stored.
      const newEmail = (await db.selectFrom('users').select('email_ciphertext').where('id', '=', account.id).executeTakeFirstOrThrow()).email_ciphertext;
      assert.notEqual(newEmail, oldEmail);
      assert.equal(decryptField(oldKey, { table: 'users', column: 'email', rowId: account.id }, oldEmail), account.email, 'the old ciphertext was under the old key');
      assert.throws(() => decryptField(oldKey, { table: 'users', column: 'email', rowId: account.id }, newEmail), CryptoError);
      assert.ok((await openEverySealedValue(db, test.keyring)) >= 11);
      await assertReadable(test, account);
      assert.equal((await db.selectFrom('shredded_keys').select('owner_id').where('owner_id', '=', account.id).executeTakeFirst()), undefined, 'a rotation is not an erasure');

      const events = await db.selectFrom('audit_events').select(['action', 'target_type', 'target_id', 'details']).where('action', 'like', 'data_key%').orderBy('seq').execute();
      assert.deepEqual(events.map((event) => event.action), ['data_key_rotation.started', 'data_key.rotated', 'data_key_rotation.finished']);
      assert.deepEqual(events[1]?.details, { rotation_id: result.rotationId, old_key_id: before.key_id, new_key_id: after.key_id, resealed: resealedList(result.outcome.fields) });
      assert.deepEqual(events[2]?.details, { scope: 'user', rotated: 1, skipped: 0 });
      await chainVerifies();
    });

    it('refuses (and changes nothing) for a user with a file kept in FILES_DIR, which cannot be re-sealed in the transaction', async () => {
      const { test } = suite;
      const db = test.database.db;
      const account = await seededAccount(test, 'files-dir');
      // What a row of the directory store holds: an empty column, the content on disk.
      await db.updateTable('user_files').set({ content: Buffer.alloc(0) }).where('user_id', '=', account.id).where('purpose', '=', 'file').execute();
      const before = await db.selectFrom('data_keys').select(['key_id', 'wrapped_key']).where('owner_id', '=', account.id).executeTakeFirstOrThrow();
      const email = (await db.selectFrom('users').select('email_ciphertext').where('id', '=', account.id).executeTakeFirstOrThrow()).email_ciphertext;
      await assert.rejects(rotateUser(test, account.id), (error: unknown) => error instanceof DataKeyRotationError && /stored in FILES_DIR/.test(error.message));
      assert.deepEqual(await db.selectFrom('data_keys').select(['key_id', 'wrapped_key']).where('owner_id', '=', account.id).executeTakeFirstOrThrow(), before, 'the key is untouched');
      assert.equal((await db.selectFrom('users').select('email_ciphertext').where('id', '=', account.id).executeTakeFirstOrThrow()).email_ciphertext, email, 'no value was re-sealed');
      assert.equal(await db.selectFrom('retired_data_keys').select('key_id').where('owner_id', '=', account.id).executeTakeFirst(), undefined);
      await db.deleteFrom('user_files').where('user_id', '=', account.id).where('purpose', '=', 'file').execute();
    });

    it('a run of everything in batches of 3 while the owners log in, list their sessions and export; later accounts are left alone; audited; the chain verifies', async () => {
      const { test } = suite;
      const db = test.database.db;
      const accounts: SeededAccount[] = [];
      for (let n = 0; n < 7; n += 1) accounts.push(await seededAccount(test, `all-${n}`));
      const keysBefore = new Map((await db.selectFrom('data_keys').select(['owner_id', 'key_id']).execute()).map((row) => [row.owner_id, row.key_id]));
      let turn = 0;
      const createdDuring: string[] = [];
      const summary = await rotateAll(test, 3, {
        // Between two users' transactions: the traffic of the users on both sides of the cursor.
        afterOwner: async () => {
          const account = accounts[turn % accounts.length]!;
          turn += 1;
          const { access_token: token } = await logIn(test, account, `${account.agent}-during`);
          await assertReadable(test, account, token);
          if (turn % 4 === 1) await assertExportReadable(test, account, token);
          if (turn === 2) createdDuring.push((await createUser(test, { label: 'created-during' })).id);
        },
      });
      assert.equal(summary.resumed, false);
      assert.equal(summary.rotated, keysBefore.size, 'every key that existed when the run started');
      assert.equal(summary.skipped, 0);
      const keysAfter = new Map((await db.selectFrom('data_keys').select(['owner_id', 'key_id']).execute()).map((row) => [row.owner_id, row.key_id]));
      for (const [owner, keyId] of keysBefore) assert.notEqual(keysAfter.get(owner), keyId, `${owner} has a new key`);
      const retired = await db.selectFrom('retired_data_keys').select(['key_id', 'owner_id']).where('rotation_id', '=', summary.rotationId).execute();
      assert.deepEqual(new Set(retired.map((row) => row.key_id)), new Set(keysBefore.values()));
      assert.equal(createdDuring.length, 1);
      assert.equal(retired.some((row) => row.owner_id === createdDuring[0]), false, 'an account created after the start keeps the key it was made with');
      const run = await db.selectFrom('data_key_rotations').selectAll().where('id', '=', summary.rotationId).executeTakeFirstOrThrow();
      assert.ok(run.finished_at !== null);
      assert.equal(run.rotated, keysBefore.size);
      assert.ok(turn >= keysBefore.size);
      assert.ok((await openEverySealedValue(db, test.keyring)) > 0);
      for (const account of accounts) {
        await assertReadable(test, account);
        await assertExportReadable(test, account, (await logIn(test, account, `${account.agent}-after`)).access_token);
      }
      const rotated = await db.selectFrom('audit_events').select('target_id').where('action', '=', 'data_key.rotated').where(sql<boolean>`details->>'rotation_id' = ${summary.rotationId}`).execute();
      assert.equal(rotated.length, keysBefore.size, 'one data_key.rotated record per user');
      const finished = await db.selectFrom('audit_events').select('details').where('action', '=', 'data_key_rotation.finished').where('target_id', '=', summary.rotationId).executeTakeFirstOrThrow();
      assert.deepEqual(finished.details, { scope: 'all', rotated: keysBefore.size, skipped: 0 });
      await chainVerifies();
    });

    it('a run stopped midway leaves every field readable, and running it again resumes the same run and rotates each user exactly once', async () => {
      const { test } = suite;
      const db = test.database.db;
      for (let n = 0; n < 4; n += 1) await createUser(test, { label: `resume-${n}`, name: `Resume ${n}` });
      const owners = (await db.selectFrom('data_keys').select('owner_id').execute()).length;
      let done = 0;
      const stop = new Error('stopped by the test');
      await assert.rejects(rotateAll(test, 2, { afterOwner: () => { done += 1; return done === 5 ? Promise.reject(stop) : Promise.resolve(); } }), stop);
      const open = await db.selectFrom('data_key_rotations').selectAll().where('scope', '=', 'all').where('finished_at', 'is', null).executeTakeFirstOrThrow();
      assert.equal(open.rotated, 5);
      assert.ok(open.cursor !== null);
      assert.ok((await openEverySealedValue(db, test.keyring)) > 0, 'half old, half new: all readable');
      await chainVerifies();

      const resumed = await rotateAll(test, 2);
      assert.equal(resumed.resumed, true);
      assert.equal(resumed.rotationId, open.id);
      assert.equal(resumed.rotated, owners);
      const retired = await db.selectFrom('retired_data_keys').select('owner_id').where('rotation_id', '=', open.id).execute();
      assert.equal(retired.length, owners);
      assert.equal(new Set(retired.map((row) => row.owner_id)).size, owners, 'no user twice');
      assert.ok((await openEverySealedValue(db, test.keyring)) > 0);
      const actions = (await db.selectFrom('audit_events').select('action').where('target_id', '=', open.id).orderBy('seq').execute()).map((row) => row.action);
      assert.deepEqual(actions, ['data_key_rotation.started', 'data_key_rotation.resumed', 'data_key_rotation.finished']);
      await chainVerifies();
    });
  });

  describe(`data-key rotation and the caches on ${engine.engine}`, () => {
    // A manual clock: cached entries never expire by themselves here, so only the
    // invalidation after the rotation's commit can drop one.
    const suite = mfaAppPerSuite(engine);

    it("drops the user's cached entries after the commit (the change helper, from the data_key.rotated record)", async () => {
      const { test } = suite;
      const account = await createUser(test, { label: 'cached', name: 'Cached Name' });
      const { access_token: token } = await logIn(test, account, 'Cache/1');
      assert.equal((await test.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
      let loads = 0;
      const probe = async (): Promise<null> => { loads += 1; return Promise.resolve(null); };
      await test.services.auth.profiles.get(account.id, probe);
      assert.equal(loads, 0, 'the profile is cached');
      await rotateUser(test, account.id);
      await test.services.auth.profiles.get(account.id, probe);
      assert.equal(loads, 1, 'the rotation dropped it');
    });
  });
}
