import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { BLIND_INDEX_PURPOSE } from './blind-index.ts';
import { createLiveBlindIndex, readBlindIndexState } from './blind-index-keys.ts';
import { createKeyring } from './keyring.ts';
import { createSystemKeyVersion, deleteSystemKey, readSystemKey, systemKeyVersionOf, systemKeyVersionId } from './system-keys.ts';

const EMAIL = 'Someone@Example.test';

for (const engine of testEngines()) {
  describe(`blind-index keys in force on ${engine.engine}`, () => {
    const keyring = createKeyring([{ id: 'k1', key: randomBytes(32) }]);
    const database = databasePerSuite(engine);

    async function setState(current: string, previous: string | null, phase: 'announced' | 'moving' = 'moving'): Promise<void> {
      await database().db
        .updateTable('blind_index_rotation')
        .set({ current_key_id: current, previous_key_id: previous, phase: previous === null ? 'done' : phase })
        .where('id', '=', 1)
        .execute();
    }

    it('key version ids: the first is the purpose itself, later ones `<purpose>:<n>`', () => {
      assert.equal(systemKeyVersionId(BLIND_INDEX_PURPOSE, 1), 'blind-index');
      assert.equal(systemKeyVersionId(BLIND_INDEX_PURPOSE, 2), 'blind-index:2');
      assert.equal(systemKeyVersionOf(BLIND_INDEX_PURPOSE, 'blind-index:17'), 17);
      assert.equal(systemKeyVersionOf(BLIND_INDEX_PURPOSE, 'blind-index'), 1);
      assert.equal(systemKeyVersionOf(BLIND_INDEX_PURPOSE, 'audit-chain:2'), null);
      assert.equal(systemKeyVersionOf(BLIND_INDEX_PURPOSE, 'blind-index:0'), null);
    });

    it('a serving instance follows a move within its reload interval, and drops the old key when the move is done', async () => {
      const db = database().db;
      const serving = await createLiveBlindIndex({ db, keyring });
      const before = serving.email(EMAIL);
      assert.equal(serving.keyId, 'blind-index');
      assert.deepEqual(serving.emailCandidates(EMAIL), [before]);
      serving.start({ intervalMs: 20 });
      try {
        await createSystemKeyVersion(db, keyring, BLIND_INDEX_PURPOSE, 'blind-index:2');
        // Announced: both looked up, still written under the old key.
        await setState('blind-index:2', 'blind-index', 'announced');
        for (let waited = 0; serving.emailCandidates(EMAIL).length < 2 && waited < 5_000; waited += 20) await sleep(20);
        assert.equal(serving.emailCandidates(EMAIL)[0], before);
        assert.equal(serving.email(EMAIL), before);
        assert.equal(serving.keyId, 'blind-index');
        await setState('blind-index:2', 'blind-index');
        // A function, not the property: TypeScript would keep the narrowing of the assert above.
        const keyId = (): string => serving.keyId;
        for (let waited = 0; keyId() !== 'blind-index:2' && waited < 5_000; waited += 20) await sleep(20);
        assert.equal(keyId(), 'blind-index:2');
        const [fresh, old] = serving.emailCandidates(EMAIL);
        assert.equal(old, before, 'the old index is still looked up');
        assert.notEqual(fresh, before);
        assert.equal(serving.email(EMAIL), fresh, 'writes use the new key');

        await setState('blind-index:2', null);
        assert.ok(await deleteSystemKey(db, 'blind-index'));
        for (let waited = 0; serving.emailCandidates(EMAIL).length > 1 && waited < 5_000; waited += 20) await sleep(20);
        assert.deepEqual(serving.emailCandidates(EMAIL), [fresh]);
      } finally {
        serving.stop();
      }
    });

    it('a write reads the state in its own transaction, even on an instance that never reloaded', async () => {
      const db = database().db;
      const state = await readBlindIndexState(db);
      const stale = await createLiveBlindIndex({ db, keyring });
      const next = systemKeyVersionId(BLIND_INDEX_PURPOSE, (systemKeyVersionOf(BLIND_INDEX_PURPOSE, state.currentKeyId) ?? 0) + 1);
      await createSystemKeyVersion(db, keyring, BLIND_INDEX_PURPOSE, next);
      await setState(next, state.currentKeyId);
      assert.equal(stale.keyId, state.currentKeyId, 'not reloaded');
      const index = await db.transaction().execute((trx) => stale.forWrite(trx));
      assert.equal(index.keyId, next);
      assert.equal(index.emailCandidates(EMAIL).length, 2);
      await setState(next, null);
    });

    it('creating a key version twice keeps the first; deleting it destroys it', async () => {
      const db = database().db;
      const first = await createSystemKeyVersion(db, keyring, BLIND_INDEX_PURPOSE, 'blind-index:40');
      const again = await createSystemKeyVersion(db, keyring, BLIND_INDEX_PURPOSE, 'blind-index:40');
      assert.deepEqual(again.key, first.key);
      await assert.rejects(createSystemKeyVersion(db, keyring, BLIND_INDEX_PURPOSE, 'audit-chain:2'), TypeError);
      assert.ok(await deleteSystemKey(db, 'blind-index:40'));
      assert.equal(await readSystemKey(db, keyring, 'blind-index:40'), null);
    });
  });
}
