// Scheduled backups: one per BACKUP_SCHEDULE slot whatever the number of instances
// polling, the newest BACKUP_KEEP kept, each audited and counted, and `backupFreshness`
// turning stale once a whole slot went by without a successful backup.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPGliteClone } from '../../../test/helpers/database.ts';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { manualClock } from '../../../test/security/security.fixtures.ts';
import type { Database } from '../../core/db/database.ts';
import { generateBackupIdentity } from './age.ts';
import { backupFreshness, BACKUP_JOB } from './scheduled.ts';
import { previousSlot } from '../../core/jobs/scheduler.ts';

const HOUR = 3600;

describe('scheduled backups', { timeout: 120_000 }, () => {
  let dir: string;
  let database: Database;
  let apps: TestApp[];
  // 2026-03-01 02:59:00 UTC: a minute before the 03:00 slot of "0 3 * * *".
  const time = manualClock(Date.UTC(2026, 2, 1, 2, 59, 0));
  const { clock } = time;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-scheduled-'));
    database = await openPGliteClone();
    const { recipient } = await generateBackupIdentity();
    const env = { BACKUP_DIR: dir, BACKUP_RECIPIENTS: recipient, BACKUP_SCHEDULE: '0 3 * * *', BACKUP_KEEP: '2' };
    // Two instances on one database, as in a cluster.
    apps = [await startTestApp({ env, database, clock }), await startTestApp({ env, database, clock })];
  });

  after(async () => {
    for (const app of apps) await app.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  const backups = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.age')).sort();
  const runBoth = async (): Promise<string[]> => (await Promise.all(apps.map((app) => app.services.scheduler.runDue()))).flat().filter((name) => name === BACKUP_JOB);

  it('finds the newest slot at or before a time', () => {
    assert.equal(previousSlot('0 3 * * *', new Date(Date.UTC(2026, 2, 1, 3, 0, 0)))?.toISOString(), '2026-03-01T03:00:00.000Z');
    assert.equal(previousSlot('0 3 * * *', new Date(Date.UTC(2026, 2, 1, 2, 59, 59)))?.toISOString(), '2026-02-28T03:00:00.000Z');
  });

  it('writes one backup per slot across two instances, keeps the newest BACKUP_KEEP, audits and counts each', async () => {
    const config = apps[0]?.config.backups;
    assert.ok(config);
    assert.equal((await backupFreshness(database.db, config, clock())).state, 'never');
    // A first start runs the job at once (no backup yet), on one instance only.
    assert.deepEqual(await runBoth(), [BACKUP_JOB]);
    assert.equal((await backups()).length, 1);
    time.advanceSeconds(30 * 60); // 03:29: the 03:00 slot has not been run since it began
    assert.deepEqual(await runBoth(), [BACKUP_JOB]);
    assert.deepEqual(await runBoth(), [], 'the slot is taken');
    time.advanceSeconds(6 * HOUR);
    assert.deepEqual(await runBoth(), [], 'no new slot before tomorrow 03:00');
    for (let day = 0; day < 2; day += 1) {
      time.advanceSeconds(24 * HOUR);
      assert.deepEqual(await runBoth(), [BACKUP_JOB]);
    }
    const kept = await backups();
    assert.equal(kept.length, 2, 'BACKUP_KEEP=2');
    assert.ok(kept.every((name) => name.startsWith('gatehouse-backup-2026-03-0')));
    assert.equal((await readdir(dir)).filter((name) => name.endsWith('.age.json')).length, 2, 'manifests go with their backups');
    const audited = await database.db.selectFrom('audit_events').select(['outcome', 'actor_id']).where('action', '=', 'backup.created').execute();
    assert.equal(audited.length, 4);
    assert.ok(audited.every((record) => record.outcome === 'success' && record.actor_id === BACKUP_JOB));
    const metrics = (await Promise.all(apps.map((app) => app.services.metrics.registry.getSingleMetricAsString('gatehouse_backups_total')))).join('\n');
    const succeeded = [...metrics.matchAll(/gatehouse_backups_total\{outcome="succeeded"\} (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    assert.equal(succeeded, 4);
  });

  it('reports the backups stale once a whole slot passed without one', async () => {
    const config = apps[0]?.config.backups;
    assert.ok(config);
    assert.equal((await backupFreshness(database.db, config, clock())).state, 'fresh');
    time.advanceSeconds(24 * HOUR); // the next slot began and nothing ran: still fresh (it may be running)
    assert.equal((await backupFreshness(database.db, config, clock())).state, 'fresh');
    time.advanceSeconds(24 * HOUR); // a whole slot went by
    assert.equal((await backupFreshness(database.db, config, clock())).state, 'stale');
    assert.deepEqual(await runBoth(), [BACKUP_JOB]);
    assert.equal((await backupFreshness(database.db, config, clock())).state, 'fresh');
  });

  it('removes what a crash left behind (a .partial file) once it is a day old, never a fresh one', async () => {
    const stale = join(dir, `gatehouse-backup-2020-01-01T00-00-00-000Z.age.${randomUUID()}.partial`);
    const fresh = join(dir, `gatehouse-backup-2026-03-05T03-00-00-000Z.age.${randomUUID()}.partial`);
    await writeFile(stale, 'cut short');
    await writeFile(fresh, 'being written');
    await utimes(stale, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    await utimes(fresh, clock(), clock());
    time.advanceSeconds(24 * HOUR);
    assert.deepEqual(await runBoth(), [BACKUP_JOB]);
    const names = await readdir(dir);
    assert.equal(names.includes(basename(stale)), false);
    assert.equal(names.includes(basename(fresh)), true);
  });
});

