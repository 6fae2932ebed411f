// A breach notification campaign: the dry run writes one mail per selected person and
// records nothing; the real run queues one mail each through the durable mail queue and
// the job runner delivers them; a rerun mails nobody again; the audit trail says when it
// started and finished, with counts and ids only. On PGlite, and PostgreSQL when set.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import { MAIL_JOB_KIND, outboxTransport } from '../mail/index.ts';
import { makeAccounts, notifyRig, outboxRecipients, uniqueTemplate } from './incident.fixtures.ts';
import { dryRunNotification, notifyUsers } from './notify.ts';
import { recipientStatuses } from './repo.ts';
import { parseUserIds } from './selection.ts';

const usersFile = (ids: readonly string[]): ReturnType<typeof parseUserIds> => parseUserIds(Buffer.from(`# affected accounts\n${ids.join('\n')}\n${ids[0] ?? ''}\n`));

for (const engine of testEngines()) {
  describe(`incident notify on ${engine.engine}`, { timeout: 120_000 }, () => {
    const database = databasePerSuite(engine);

    it('the dry run writes exactly one mail per selected user to the outbox, none for the unselected, erased or disabled, and records nothing', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, ['active', 'active', 'active', 'disabled', 'erased', 'active']);
      const [a, b, c, disabled, erased, unselected] = accounts;
      const unknown = randomUUID();
      const outbox = await mkdtemp(join(tmpdir(), 'gh-incident-outbox-'));
      try {
        const selection = usersFile([a!.id, b!.id, c!.id, disabled!.id, erased!.id, unknown]);
        const result = await dryRunNotification(rig.deps, { template: uniqueTemplate(), selection, batchSize: 2, transport: outboxTransport(outbox), from: 'Gatehouse <no-reply@localhost>' });
        assert.deepEqual((await outboxRecipients(outbox)).sort(), [a!.email, b!.email, c!.email].sort());
        assert.deepEqual([...result.written].sort(), [a!.id, b!.id, c!.id].sort());
        assert.deepEqual([...result.notMailable].sort(), [disabled!.id, erased!.id, unknown].sort());
        assert.ok(!(await outboxRecipients(outbox)).includes(unselected!.email));
        assert.equal((await db.selectFrom('incident_campaigns').selectAll().execute()).length, 0, 'no campaign recorded');
        assert.equal((await db.selectFrom('jobs').selectAll().where('kind', '=', MAIL_JOB_KIND).execute()).length, 0, 'no mail queued');
      } finally {
        await rm(outbox, { recursive: true, force: true });
      }
    });

    it('a real run delivers one mail each through the mail queue; a rerun of the same command mails nobody again', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, ['active', 'active', 'active', 'active', 'active', 'disabled', 'erased']);
      const selected = accounts.slice(0, 4);
      const options = { template: uniqueTemplate(), selection: usersFile(accounts.filter((account) => account !== accounts[4]).map((account) => account.id)), ratePerSecond: 50, batchSize: 3 };
      const first = await notifyUsers(rig.deps, options);
      assert.equal(first.created, true);
      assert.equal(first.queued, 4);
      assert.notEqual(first.campaign.finishedAt, null);
      assert.deepEqual([...first.notMailable].sort(), [accounts[5]!.id, accounts[6]!.id].sort());
      assert.deepEqual((await recipientStatuses(db, first.campaign.id)).map((row) => row.status), ['queued', 'queued', 'queued', 'queued']);
      await rig.deliver();
      assert.deepEqual(rig.mail.sent.map((mail) => mail.to).sort(), selected.map((account) => account.email).sort());
      assert.ok(rig.mail.sent.every((mail) => mail.subject === options.template.subject && mail.text.startsWith('Dear Someone,\n')));
      assert.deepEqual((await recipientStatuses(db, first.campaign.id)).map((row) => row.status), ['sent', 'sent', 'sent', 'sent']);

      const again = await notifyUsers(rig.deps, options);
      assert.equal(again.campaign.id, first.campaign.id, 'the same template and selection are the same campaign');
      assert.equal(again.queued, 0);
      assert.equal(again.alreadyFinished, true);
      await rig.deliver();
      assert.equal(rig.mail.sent.length, 4, 'nobody is mailed twice');

      const audit = await db.selectFrom('audit_events').select(['action', 'details']).where('action', 'like', 'incident.%').orderBy('seq').execute();
      assert.deepEqual(audit.map((row) => row.action), ['incident.notification_started', 'incident.notification_queued', 'incident.notification_queued', 'incident.notification_finished']);
      assert.deepEqual(audit.at(-1)?.details, { campaign_id: first.campaign.id, recipients: 4, queued_this_run: 4, not_mailable: 2 });
      const trail = JSON.stringify(audit);
      for (const account of accounts) assert.ok(!trail.includes(account.email), 'no address in the audit trail');
    });

    it('--all mails every active account that existed when the campaign started, and no disabled or erased one', async () => {
      const db = database().db;
      const before = (await db.selectFrom('users').select('id').where('status', '=', 'active').execute()).map((row) => row.id);
      const rig = notifyRig(db);
      const made = await makeAccounts(db, rig.keyring, ['active', 'active', 'disabled', 'erased', 'active']);
      // Accounts of earlier tests were made under other keyrings; this run reads only its own.
      await db.deleteFrom('users').where('id', 'in', before).execute();
      const later = await makeAccounts(db, rig.keyring, ['active'], { now: new Date(Date.now() + 86_400_000) });
      const result = await notifyUsers(rig.deps, { template: uniqueTemplate(), selection: { kind: 'all' }, ratePerSecond: 100, batchSize: 2 });
      await rig.deliver();
      const expected = made.filter((account) => account.kind === 'active').map((account) => account.email).sort();
      assert.deepEqual(rig.mail.sent.map((mail) => mail.to).sort(), expected);
      assert.ok(!rig.mail.sent.some((mail) => mail.to === later[0]!.email), 'an account made after the start is not in the campaign');
      assert.equal(result.queued, expected.length);
    });

    it('paces delivery: each mail is due 1/N s after the one before, and the run takes its share of time', async () => {
      const db = database().db;
      const rig = notifyRig(db);
      const accounts = await makeAccounts(db, rig.keyring, Array.from({ length: 10 }, () => 'active' as const));
      const started = rig.mail.time.clock().getTime();
      const result = await notifyUsers(rig.deps, { template: uniqueTemplate(), selection: usersFile(accounts.map((account) => account.id)), ratePerSecond: 5, batchSize: 4 });
      const due = (await db.selectFrom('jobs').select('next_attempt_at').where('dedupe_key', 'like', `incident:${result.campaign.id}:%`).orderBy('next_attempt_at').execute()).map((row) => new Date(row.next_attempt_at).getTime());
      assert.equal(due.length, 10);
      for (let index = 1; index < due.length; index++) assert.ok(due[index]! - due[index - 1]! >= 200, `mail ${index} is due ${due[index]! - due[index - 1]!} ms after the one before`);
      assert.ok(rig.mail.time.clock().getTime() - started >= 1800, 'ten mails at five a second take about two seconds to queue');
    });
  });
}
