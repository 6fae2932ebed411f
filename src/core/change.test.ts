import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../../test/helpers/database.ts';
import { changesFor, freshTrailPerTest, NO_CONTEXT, sampleEvent, testDeps } from './audit/audit.fixtures.ts';
import { createAuditor } from './audit/auditor.ts';
import { createCacheInvalidation, createTtlCache } from './cache.ts';
import { createChanges, invalidatedTags } from './change.ts';
import type { DB } from './db/database.ts';

async function systemKeyIds(db: DB): Promise<string[]> {
  return (await db.selectFrom('system_keys').select('id').orderBy('id').execute()).map((row) => row.id);
}

function insertKey(id: string) {
  return { id, purpose: 'test', master_key_id: 'm1', wrapped_key: 'x' };
}

describe('invalidatedTags', () => {
  it('turns each record target into the tag of what it changed; a role change stales every role-derived entry', () => {
    assert.deepEqual(
      invalidatedTags([
        { actor: { type: 'system' }, action: 'a', outcome: 'success', target: { type: 'user', id: 'u1' } },
        { actor: { type: 'system' }, action: 'b', outcome: 'success', target: { type: 'session', id: 's1' } },
        { actor: { type: 'system' }, action: 'c', outcome: 'success', target: { type: 'role', id: 'auditor' } },
        { actor: { type: 'system' }, action: 'd', outcome: 'success' },
        { actor: { type: 'system' }, action: 'e', outcome: 'success', target: { type: 'user', id: 'u1' } },
      ]),
      ['user:u1', 'session:s1', 'roles'],
    );
  });
});

for (const engine of testEngines()) {
  describe(`the one audited change on ${engine.engine}`, () => {
    const database = freshTrailPerTest(engine);

    it('writes the change, its jobs and its records in one transaction, records last and in order', async () => {
      const db = database().db;
      const seen: string[] = [];
      const value = await changesFor(db, testDeps())(NO_CONTEXT, async ({ trx, audit, enqueue }) => {
        audit({ ...sampleEvent(1), action: 'first' });
        enqueue({
          async write(jobTrx) {
            // Jobs are written before the records: the chain lock is taken last.
            assert.equal((await jobTrx.selectFrom('audit_events').select('seq').execute()).length, 0);
            seen.push('job written');
          },
          committed() {
            seen.push('job committed');
          },
        });
        await trx.insertInto('system_keys').values(insertKey('k1')).execute();
        audit({ ...sampleEvent(2), action: 'second' });
        return 'done';
      });
      assert.equal(value, 'done');
      assert.deepEqual(seen, ['job written', 'job committed']);
      const records = await db.selectFrom('audit_events').select(['seq', 'action']).orderBy('seq').execute();
      assert.deepEqual(records, [{ seq: 1, action: 'first' }, { seq: 2, action: 'second' }]);
      assert.deepEqual(await systemKeyIds(db), ['k1']);
    });

    it('a change that throws leaves no row, no record, no committed job and no invalidation', async () => {
      const db = database().db;
      const invalidated: string[] = [];
      const invalidation = createCacheInvalidation();
      invalidation.register({ invalidate: (tag) => { invalidated.push(tag); }, clear: () => undefined });
      const announced: string[][] = [];
      const change = createChanges({ db, audit: createAuditor(testDeps()), invalidation, announce: (tags) => { announced.push([...tags]); } });
      let committed = false;
      await assert.rejects(
        change(NO_CONTEXT, async ({ trx, audit, enqueue }) => {
          await trx.insertInto('system_keys').values(insertKey('k1')).execute();
          audit({ ...sampleEvent(1), target: { type: 'user', id: 'u1' } });
          enqueue({ write: () => Promise.resolve(), committed: () => { committed = true; } });
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.deepEqual(await systemKeyIds(db), []);
      assert.equal((await db.selectFrom('audit_events').selectAll().execute()).length, 0);
      assert.equal(committed, false);
      assert.deepEqual(invalidated, []);
      assert.deepEqual(announced, [], 'nothing is announced to other instances either');
    });

    it('drops cached entries only after the commit, from the targets the change recorded (no forget() to omit)', async () => {
      const db = database().db;
      const invalidation = createCacheInvalidation();
      const cache = createTtlCache<string>({ clock: () => new Date(), ttlMs: 60_000, maxEntries: 10 });
      const visibleAtInvalidation: number[] = [];
      invalidation.register({
        invalidate: (tag) => {
          // Dropped after the commit: a reader from outside the change must already see it.
          void db.selectFrom('system_keys').select('id').execute().then((rows) => { visibleAtInvalidation.push(rows.length); });
          cache.invalidate(tag);
        },
        clear: () => undefined,
      });
      cache.set('profile-u1', 'old name', 60_000, ['user:u1']);
      cache.set('session-s9', 'active', 60_000, ['session:s9', 'user:u2']);
      cache.set('permissions-u3', 'read', 60_000, ['user:u3', 'roles']);
      // The other instances hear the same tags, once the change committed.
      const announced: string[][] = [];
      const change = createChanges({ db, audit: createAuditor(testDeps()), invalidation, announce: (tags) => {
        assert.equal(cache.get('profile-u1'), undefined, 'announced after the local invalidation');
        announced.push([...tags]);
      } });
      await change(NO_CONTEXT, async ({ trx, audit }) => {
        await trx.insertInto('system_keys').values(insertKey('k1')).execute();
        audit({ ...sampleEvent(1), target: { type: 'user', id: 'u1' } });
        audit({ ...sampleEvent(2), target: { type: 'session', id: 's9' } });
        assert.equal(cache.get('profile-u1'), 'old name', 'nothing is dropped before the commit');
      });
      assert.equal(cache.get('profile-u1'), undefined);
      assert.equal(cache.get('session-s9'), undefined);
      assert.equal(cache.get('permissions-u3'), 'read', 'an entry the change did not name stays');
      await change(NO_CONTEXT, async ({ audit }) => {
        audit({ ...sampleEvent(3), target: { type: 'role', id: 'support' } });
        return Promise.resolve();
      });
      assert.equal(cache.get('permissions-u3'), undefined, 'a role change drops every role-derived entry');
      assert.deepEqual(announced, [['user:u1', 'session:s9'], ['roles']]);
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(visibleAtInvalidation.length > 0 && visibleAtInvalidation.every((count) => count === 1));
    });

    it('a change started inside another joins it: one transaction, records appended once, after the outer commit', async () => {
      const db = database().db;
      const invalidated: string[] = [];
      const invalidation = createCacheInvalidation();
      invalidation.register({ invalidate: (tag) => { invalidated.push(tag); }, clear: () => undefined });
      const change = createChanges({ db, audit: createAuditor(testDeps()), invalidation });
      await assert.rejects(
        change(NO_CONTEXT, async ({ trx, audit }) => {
          audit({ ...sampleEvent(1), action: 'outer', target: { type: 'user', id: 'u1' } });
          await change(NO_CONTEXT, async (inner) => {
            await inner.trx.insertInto('system_keys').values(insertKey('inner')).execute();
            inner.audit({ ...sampleEvent(2), action: 'inner', target: { type: 'user', id: 'u2' } });
          });
          assert.deepEqual(invalidated, [], 'the inner change does not invalidate before the outer commit');
          await trx.insertInto('system_keys').values(insertKey('inner')).execute();
        }),
        'the outer change fails on the row the inner one wrote: they share one transaction',
      );
      assert.deepEqual(await systemKeyIds(db), [], 'the inner change rolled back with the outer one');
      assert.deepEqual(invalidated, []);
      await change(NO_CONTEXT, async ({ audit }) => {
        audit({ ...sampleEvent(1), action: 'outer' });
        await change(NO_CONTEXT, ({ audit: innerAudit }) => {
          innerAudit({ ...sampleEvent(2), action: 'inner', target: { type: 'user', id: 'u2' } });
          return Promise.resolve();
        });
      });
      const records = await db.selectFrom('audit_events').select(['seq', 'action']).orderBy('seq').execute();
      assert.deepEqual(records, [{ seq: 1, action: 'outer' }, { seq: 2, action: 'inner' }]);
      assert.deepEqual(invalidated, ['session:session-1', 'user:u2'], 'sampleEvent(1) targets session-1');
    });
  });
}
