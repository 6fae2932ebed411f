// `gatehouse incident notify` as an operator runs it: a refused template or users file
// changes nothing; the dry run writes one mail per selected person to the outbox and
// records nothing; the real run queues one mail each, which a running `gatehouse serve`
// delivers (to its development outbox); --status and --report say who was told; a rerun
// mails nobody again. On PGlite (DATA_DIR), and PostgreSQL when DATABASE_URL_TEST is set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { EMPTY_DIR, run } from '../helpers/cli.ts';
import { countRows, deliverByServe, seedAccounts } from '../helpers/incident.ts';
import { outboxRecipients, templateText } from '../../src/features/incident/incident.fixtures.ts';

const EXAMPLE = new URL('../../docs/examples/incident-notification.txt', import.meta.url).pathname;

// Once, after every engine's suite: each runs the command from this directory.
after(async () => {
  await rm(EMPTY_DIR, { recursive: true, force: true });
});

for (const engine of testEngines()) {
  describe(`gatehouse incident notify on ${engine.engine}`, { timeout: 240_000 }, () => {
    let work = '';
    let env: Record<string, string> = {};
    let postgres: TestDatabase | null = null;
    let accounts: Awaited<ReturnType<typeof seedAccounts>> = [];
    let usersFile = '';
    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'gh-incident-cli-'));
      postgres = engine.engine === 'postgres' ? await engine.open({ migrate: false }) : null;
      env = { LOG_LEVEL: 'warn', GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}`, DATA_DIR: join(work, 'data'), ...(postgres === null ? {} : { DATABASE_URL: postgres.url ?? '' }) };
      accounts = await seedAccounts(env, ['active', 'active', 'active', 'disabled', 'erased', 'active']);
      usersFile = join(work, 'affected.txt');
      // Three affected, one disabled, one erased, one unknown, one listed twice; the last active account is not listed.
      const listed = [...accounts.slice(0, 5).map((account) => account.id), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', accounts[0]!.id];
      await writeFile(usersFile, `${listed.join('\n')}\n`);
    });
    after(async () => {
      await postgres?.cleanup();
      await rm(work, { recursive: true, force: true });
    });
    const affected = (): string[] => accounts.slice(0, 3).map((account) => account.email).sort();
    const campaigns = (): Promise<number> => countRows(env, async (db) => (await db.selectFrom('incident_campaigns').select('id').execute()).length);

    it('refuses a template with an unknown placeholder, a subject with a CR, and a malformed users file, changing nothing', async () => {
      const bad = join(work, 'bad.txt');
      await writeFile(bad, templateText({ body: `${templateText().split('---\n')[2] ?? ''}{{password}}\n` }));
      const unknown = await run(['incident', 'notify', '--users', usersFile, '--template', bad], env);
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(unknown.stderr, /template refused: unknown placeholder \{\{password\}\}/);
      await writeFile(bad, templateText({ subject: 'Incident\rBcc: all@example.test' }));
      const header = await run(['incident', 'notify', '--all', '--template', bad], env);
      assert.equal(header.code, 2);
      assert.match(header.stderr, /"subject" contains a line break/);
      const ids = join(work, 'bad-ids.txt');
      await writeFile(ids, `${accounts[0]!.id}\nada@example.test\n`);
      const malformed = await run(['incident', 'notify', '--users', ids, '--template', EXAMPLE], env);
      assert.equal(malformed.code, 2);
      assert.match(malformed.stderr, /line 2 of the users file is not a user id/);
      assert.ok(!malformed.stderr.includes('ada@example.test'), 'the offending line is not echoed');
      const both = await run(['incident', 'notify', '--users', usersFile, '--all', '--template', EXAMPLE], env);
      assert.equal(both.code, 2);
      assert.equal(await campaigns(), 0);
    });

    it('--dry-run writes one mail per selected user to --outbox, reports them, and records nothing', async () => {
      const outbox = join(work, 'dry-outbox');
      const dry = await run(['incident', 'notify', '--users', usersFile, '--template', EXAMPLE, '--dry-run', '--outbox', outbox], env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual((await outboxRecipients(outbox)).sort(), affected());
      const records = dry.stdout.trim().split('\n').map((line) => JSON.parse(line) as { user_id: string; status: string });
      assert.deepEqual(records.filter((record) => record.status === 'dry_run').map((record) => record.user_id).sort(), accounts.slice(0, 3).map((account) => account.id).sort());
      assert.equal(records.filter((record) => record.status === 'not_mailable').length, 3);
      assert.match(dry.stderr, /1 duplicate ids in the users file ignored/);
      assert.match(dry.stderr, /dry run: 3 mails written/);
      assert.equal(await campaigns(), 0, 'a dry run records no campaign');
      assert.equal(await countRows(env, async (db) => (await db.selectFrom('jobs').select('id').execute()).length), 0, 'and queues no mail');
    });

    it('a real run queues one mail each, which gatehouse serve delivers; --status and --report say who was told; a rerun mails nobody again', async () => {
      const report = join(work, 'report.csv');
      const real = await run(['incident', 'notify', '--users', usersFile, '--template', EXAMPLE, '--rate', '100', '--batch-size', '2', '--report', report], env);
      assert.equal(real.code, 0, real.stderr);
      const campaign = /campaign ([0-9a-f-]{36}) started/.exec(real.stderr)?.[1] ?? '';
      assert.notEqual(campaign, '');
      assert.match(real.stderr, /finished; 3 mails queued by this run \(queued 3, not_mailable 3\)/);
      assert.equal((await stat(report)).mode & 0o777, 0o600);
      const csv = (await readFile(report, 'utf8')).trim().split('\n');
      assert.equal(csv[0], 'user_id,status');
      assert.deepEqual(csv.slice(1).filter((line) => line.endsWith(',queued')).map((line) => line.split(',')[0]).sort(), accounts.slice(0, 3).map((account) => account.id).sort());
      assert.ok(!csv.join('\n').includes('@'), 'the report holds no address');

      assert.deepEqual((await deliverByServe(env, 3)).sort(), affected(), 'one mail each to the affected, none to anyone else');

      const status = await run(['incident', 'notify', '--status', campaign], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /recipients 3: sent 3/);
      assert.match(status.stdout, /finished queueing at/);

      const rerun = await run(['incident', 'notify', '--users', usersFile, '--template', EXAMPLE], env);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.ok(rerun.stderr.includes(`campaign ${campaign} already finished earlier; nobody mailed again`), rerun.stderr);
      assert.equal(await countRows(env, async (db) => (await db.selectFrom('jobs').select('id').execute()).length), 3, 'no new mail job');
      const again = await run(['incident', 'notify', '--status', campaign, '--report', report], env);
      assert.notEqual(again.code, 0, 'an existing report is never overwritten');
      const none = await run(['incident', 'notify', '--status', 'not-a-campaign'], env);
      assert.equal(none.code, 1);
      const chain = await run(['audit', 'verify'], env);
      assert.equal(chain.code, 0, chain.stderr);
      assert.match(chain.stdout, /audit chain intact/);
    });
  });
}
