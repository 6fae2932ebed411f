import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { testEngines, type TestDatabase } from '../../../test/helpers/database.ts';
import type { DB } from '../db/database.ts';
import { outsideTransaction } from '../db/transaction-scope.ts';
import { createKeyring, CryptoError } from './keyring.ts';
import { getOrCreateSystemKey } from './system-keys.ts';

class Rollback extends Error {}

// Waits until `count` sessions of this database are blocked on a row lock.
async function waitForLockWaiters(db: DB, count: number): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const { rows } = await sql<{ waiting: number }>`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db);
    if ((rows[0]?.waiting ?? 0) >= count) return;
    await delay(10);
  }
  throw new Error(`fewer than ${count} sessions ever waited on the lock`);
}

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
        Array.from({ length: 8 }, () => getOrCreateSystemKey(test.database.db, keyring, 'raced')),
      );
      const distinct = new Set(results.map((result) => result.key.toString('base64url')));
      assert.equal(distinct.size, 1);
      const stored = await getOrCreateSystemKey(test.database.db, keyring, 'raced');
      assert.ok(distinct.has(stored.key.toString('base64url')));
    });

    // PostgreSQL only: PGlite has one backend, so a held transaction would block the racers
    // before they could even read; the interleaved test above covers PGlite.
    it('instances that all found no key, then insert at the same moment, still agree on one', { skip: engine.engine !== 'postgres' }, async () => {
      const db = test.database.db;
      let racing: Promise<{ key: Buffer }[]> | undefined;
      // An uncommitted row holds the unique key: every racer reads "no key", then blocks
      // on its insert; the rollback releases them all at once.
      await assert.rejects(
        db.transaction().execute(async (tx) => {
          await tx.insertInto('system_keys').values({ id: 'held', purpose: 'held', master_key_id: 'k1', wrapped_key: 'placeholder' }).execute();
          // Other instances: their own connections, not this transaction's.
          racing = outsideTransaction(() => Promise.all(Array.from({ length: 4 }, () => getOrCreateSystemKey(db, keyring, 'held'))));
          await waitForLockWaiters(tx, 4);
          throw new Rollback();
        }),
        Rollback,
      );
      assert.ok(racing !== undefined);
      const results = await racing;
      assert.equal(new Set(results.map((result) => result.key.toString('base64url'))).size, 1);
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
