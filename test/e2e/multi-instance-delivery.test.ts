// Exactly once across instances: three `gatehouse serve` processes on one PostgreSQL and
// Redis all poll the one job queue and the one scheduler. Changes made on every instance
// enqueue mails (a password change mails its owner) and signed webhooks (a role
// assignment); each must reach its recipient once, not once per instance. The retention
// purges (started by every instance as it boots) and a backup due every minute must each
// run once per due time. All three instances write their mail outbox (development mode)
// and their backups into one directory each, so a second delivery would be a second file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { sql } from 'kysely';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/features/webhooks/signature.ts';
import { startReceiver, testWebhookSecret } from '../../src/features/webhooks/webhooks.fixtures.ts';
import { strongPassword } from '../helpers/http.ts';
import { call, instancesPerSuite, logIn, postgresEngineForInstances } from '../helpers/instances.ts';

const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;
const ACCOUNTS = 12;
const PASSWORD_CHANGED = 'Your password was changed';

const shared = await mkdtemp(join(tmpdir(), 'gh-delivery-'));
await mkdir(join(shared, 'backups'), { mode: 0o700 });
const receiver = await startReceiver();
const secret = testWebhookSecret();
const recipient = await identityToRecipient(await generateIdentity());
after(async () => {
  await receiver.close();
  await rm(shared, { recursive: true, force: true });
});

async function outbox(): Promise<{ to: string; subject: string }[]> {
  const directory = join(shared, 'outbox');
  const files = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.eml'));
  return Promise.all(files.map(async (file) => {
    const text = await readFile(join(directory, file), 'utf8');
    return { to: /^To: (.+)$/m.exec(text)?.[1]?.trim() ?? '', subject: /^Subject: (.+)$/m.exec(text)?.[1]?.trim() ?? '' };
  }));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe('three instances deliver each mail and webhook once and run each scheduled job once', { skip, timeout: 300_000 }, () => {
  const cluster = instancesPerSuite({
    count: 3,
    env: {
      DATA_DIR: shared,
      SECURITY_WEBHOOK_URLS: receiver.url,
      SECURITY_WEBHOOK_SECRET: secret,
      BACKUP_DIR: join(shared, 'backups'),
      BACKUP_SCHEDULE: '* * * * *',
      BACKUP_RECIPIENTS: recipient,
    },
  });

  it('a password change and a role assignment on each instance: one mail and one signed webhook each, none repeated', async () => {
    const { servers, admin } = cluster();
    const accounts = [];
    for (let index = 0; index < ACCOUNTS; index++) accounts.push(await cluster().account());
    const before = receiver.received.length;
    await Promise.all(accounts.map(async (account, index) => {
      const server = servers[index % servers.length];
      assert.ok(server !== undefined);
      const session = await logIn(server, account.email, account.password);
      const changed = await call(server, 'POST', '/v1/me/password', { token: session.access, body: { current_password: account.password, new_password: strongPassword() } });
      assert.ok(changed.status === 200 || changed.status === 204, JSON.stringify(changed.json));
      const assigned = await call(server, 'PUT', `/v1/admin/users/${account.id}/roles/auditor`, { token: admin });
      assert.equal(assigned.status, 200, JSON.stringify(assigned.json));
    }));

    const emails = new Set(accounts.map((account) => account.email));
    const changeMails = async (): Promise<{ to: string; subject: string }[]> => (await outbox()).filter((mail) => mail.subject === PASSWORD_CHANGED && emails.has(mail.to));
    const assignments = (): typeof receiver.received => receiver.received.slice(before).filter((hook) => hook.headers['gatehouse-event-type'] === 'role.assigned');
    await until('a mail for every change', async () => (await changeMails()).length >= ACCOUNTS, 60_000);
    await until('a webhook for every assignment', () => Promise.resolve(assignments().length >= ACCOUNTS), 60_000);
    // Every instance polls at least every 5 s: time enough for a second delivery to show.
    await sleep(7_000);

    const mails = await changeMails();
    assert.deepEqual([...countBy(mails, (mail) => mail.to).values()].filter((count) => count !== 1), [], 'a password-changed mail sent more than once');
    assert.equal(mails.length, ACCOUNTS);

    const hooks = assignments();
    assert.equal(hooks.length, ACCOUNTS, `${hooks.length} role.assigned deliveries for ${ACCOUNTS} assignments`);
    assert.equal(new Set(hooks.map((hook) => String(hook.headers[EVENT_ID_HEADER]))).size, ACCOUNTS, 'an event delivered twice');
    const targets = new Set(hooks.map((hook) => (JSON.parse(hook.body) as { target: { id: string } }).target.id));
    assert.deepEqual([...targets].sort(), accounts.map((account) => account.id).sort());
    for (const hook of hooks) {
      assert.ok(verifyWebhookSignature(secret, String(hook.headers[SIGNATURE_HEADER]), hook.body, { toleranceSeconds: 300, now: new Date() }));
    }
    // The queue agrees: every job done once, none left claimed.
    const jobs = await cluster().database.database.db
      .selectFrom('jobs')
      .select(['kind', sql<number>`count(*)::int`.as('n'), sql<number>`count(*) filter (where done_at is null)::int`.as('open')])
      .where('kind', 'in', ['mail', 'webhook'])
      .groupBy('kind')
      .execute();
    for (const row of jobs) assert.equal(row.open, 0, `${row.kind} jobs left undone`);
  });

  it('each retention purge ran once when the three instances started, and each minute\'s backup was made once', async () => {
    const { servers, database } = cluster();
    const done = servers.flatMap((server) => server.stdout.filter((line) => line.includes('"scheduled job done"')).map((line) => (JSON.parse(line) as { job: string }).job));
    const purges = countBy(done.filter((job) => job !== 'backup'), (job) => job);
    assert.ok(purges.size >= 3, `purges that ran: ${[...purges.keys()].join(', ')}`);
    assert.deepEqual([...purges].filter(([, count]) => count !== 1), [], 'a purge ran on more than one instance');

    // The first backup was made at start; the next is due at the next minute, and one of
    // the instances (each polling every 60 s) takes it within a minute of that.
    const backups = async (): Promise<string[]> => (await readdir(join(shared, 'backups')).catch(() => [] as string[])).filter((name) => name.endsWith('.age'));
    await until('two scheduled backups', async () => (await backups()).length >= 2, 150_000);
    await sleep(2_000);
    const records = await database.database.db
      .selectFrom('audit_events')
      .select(['occurred_at', 'details'])
      .where('action', '=', 'backup.created')
      .where('outcome', '=', 'success')
      .orderBy('seq')
      .execute();
    // The slot a backup was claimed in: its record is written when the backup is done, a
    // second or so after the claim for this small database, so 5 s earlier is in the slot.
    const minutes = records.map((record) => new Date(record.occurred_at.getTime() - 5_000).toISOString().slice(0, 16));
    assert.equal(records.length, (await backups()).length, 'a backup file for each backup.created record');
    assert.deepEqual([...countBy(minutes, (minute) => minute)].filter(([, count]) => count !== 1), [], `backups per minute: ${minutes.join(', ')}`);
    const makers = servers.map((server) => server.stdout.filter((line) => line.includes('"scheduled job done"') && line.includes('"job":"backup"')).length);
    assert.equal(makers.reduce((sum, count) => sum + count, 0), records.length, `backups per instance: ${makers.join(', ')}`);
  });
});
