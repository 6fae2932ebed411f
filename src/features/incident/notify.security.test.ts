// A breach notification must reach each person once: never twice (a second mail about a
// breach is itself alarming, and a rerun after a crash is the normal way to finish), and
// never zero times because a crash, a full queue or a second operator got in the way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { MailQueue } from '../mail/index.ts';
import { makeAccounts, notifyRig, uniqueTemplate, type NotifyRig } from './incident.fixtures.ts';
import { notifyUsers, NotifyError } from './notify.ts';
import { recipientStatuses } from './repo.ts';
import { parseUserIds } from './selection.ts';

const selectionOf = (ids: readonly string[]): ReturnType<typeof parseUserIds> => parseUserIds(Buffer.from(ids.join('\n')));

function countsByAddress(rig: NotifyRig): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of rig.mail.sent) counts.set(mail.to, (counts.get(mail.to) ?? 0) + 1);
  return counts;
}

/** A queue whose enqueue throws from the `failAt`-th call on, as a process dying mid-batch would stop. */
function dyingQueue(queue: MailQueue, failAt: number): MailQueue {
  let calls = 0;
  return {
    handler: queue.handler,
    async enqueue(trx, message, options) {
      calls += 1;
      if (calls >= failAt) throw new Error('the process died here');
      await queue.enqueue(trx, message, options);
    },
  };
}

for (const engine of testEngines()) {
  describe(`incident notify on ${engine.engine}: once each, never twice`, { timeout: 120_000 }, () => {
    const database = databasePerSuite(engine);

    it('a run that dies mid-batch leaves that batch wholly unqueued; the rerun mails everyone exactly once', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, Array.from({ length: 9 }, () => 'active' as const));
      const options = { template: uniqueTemplate(), selection: selectionOf(accounts.map((account) => account.id)), ratePerSecond: 100, batchSize: 4 };
      // The sixth mail is the second of the second batch: the first batch committed, the second must not.
      await assert.rejects(notifyUsers({ ...rig.deps, mail: dyingQueue(rig.mail.queue, 6) }, options), /the process died here/);
      const recorded = await recipientStatuses(db, (await db.selectFrom('incident_campaigns').select('id').executeTakeFirstOrThrow()).id);
      assert.equal(recorded.length, 4, 'only the committed batch is recorded, and every recorded person has a mail job');
      assert.ok(recorded.every((row) => row.status === 'queued'));

      const rerun = await notifyUsers(rig.deps, options);
      assert.equal(rerun.created, false);
      assert.equal(rerun.queued, 5);
      await rig.deliver();
      const counts = countsByAddress(rig);
      assert.deepEqual([...counts.keys()].sort(), accounts.map((account) => account.email).sort());
      assert.ok([...counts.values()].every((count) => count === 1), JSON.stringify([...counts.values()]));
    });

    it('two runs of the same campaign at once never mail anyone twice', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, Array.from({ length: 12 }, () => 'active' as const));
      const options = { template: uniqueTemplate(), selection: selectionOf(accounts.map((account) => account.id)), ratePerSecond: 1000, batchSize: 3 };
      const [one, two] = await Promise.all([notifyUsers(rig.deps, options), notifyUsers(rig.deps, options)]);
      assert.equal(one.campaign.id, two.campaign.id);
      assert.equal(one.queued + two.queued, 12);
      await rig.deliver();
      const counts = countsByAddress(rig);
      assert.equal(counts.size, 12);
      assert.ok([...counts.values()].every((count) => count === 1), JSON.stringify([...counts.values()]));
    });

    it('a batch the full mail queue refuses is queued again once there is room, not skipped', async () => {
      const db = database().db;
      const rig = notifyRig(db, { maxPending: 3 });
      const accounts = await makeAccounts(db, rig.keyring, Array.from({ length: 7 }, () => 'active' as const));
      // The job runner (of a serving instance) drains the queue only while the command
      // waits for room (10 s), not during the pacing pauses (a few ms here).
      const deps = { ...rig.deps, sleep: async (ms: number) => { rig.mail.time.advanceMs(ms); if (ms >= 10_000) await rig.deliver(); } };
      const result = await notifyUsers(deps, { template: uniqueTemplate(), selection: selectionOf(accounts.map((account) => account.id)), ratePerSecond: 1000, batchSize: 2, backlogLimit: 1000 });
      await rig.deliver();
      assert.equal(result.queued, 7);
      assert.ok(rig.progress.some((line) => line.includes('refused the batch (full)')), 'the queue did refuse a batch');
      assert.deepEqual(rig.mail.sent.map((mail) => mail.to).sort(), accounts.map((account) => account.email).sort());
    });

    it('--resume of a campaign with another template or selection is refused before anything is queued', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, ['active', 'active']);
      const template = uniqueTemplate();
      const first = await notifyUsers(rig.deps, { template, selection: selectionOf([accounts[0]!.id]), ratePerSecond: 100, batchSize: 10 });
      const jobs = async (): Promise<number> => (await db.selectFrom('jobs').select('id').execute()).length;
      const queuedBefore = await jobs();
      await assert.rejects(notifyUsers(rig.deps, { template: uniqueTemplate(), selection: selectionOf([accounts[0]!.id]), ratePerSecond: 100, batchSize: 10, resume: first.campaign.id }), NotifyError);
      await assert.rejects(notifyUsers(rig.deps, { template, selection: selectionOf(accounts.map((account) => account.id)), ratePerSecond: 100, batchSize: 10, resume: first.campaign.id }), NotifyError);
      assert.equal(await jobs(), queuedBefore);
      const resumed = await notifyUsers(rig.deps, { template, selection: selectionOf([accounts[0]!.id]), ratePerSecond: 100, batchSize: 10, resume: first.campaign.id });
      assert.equal(resumed.queued, 0);
    });
  });
}
