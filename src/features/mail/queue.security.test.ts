// What a reader of the database or the logs, or a race between instances, could get out
// of queued mail: the recipient and the one-time link in it are secrets at rest.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, beforeEach, describe, it } from 'node:test';
import { databasePerSuite, testEngines } from '../../../test/helpers/database.ts';
import type { DB } from '../../core/db/database.ts';
import type { MailMessage } from './mailer.ts';
import { mailJobs, mailRig, RECIPIENT, resetMail } from './mail.fixtures.ts';
import { MAIL_JOB_KIND } from './queue.ts';

for (const engine of testEngines()) {
  describe(`mail queue attacks on ${engine.engine}`, () => {
    const database = databasePerSuite(engine);
    let db: DB;
    before(() => {
      db = database().db;
    });
    beforeEach(() => db.deleteFrom('jobs').where('kind', '=', MAIL_JOB_KIND).execute());

    it('a reader of the jobs table learns neither the recipient nor the link token of a queued mail', async () => {
      const rig = mailRig(db);
      const token = randomBytes(32).toString('base64url');
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail(token), { userId: null }));
      const stored = JSON.stringify(await mailJobs(db));
      for (const secret of [RECIPIENT, token, Buffer.from(token).toString('base64'), Buffer.from(RECIPIENT).toString('base64url')]) {
        assert.equal(stored.includes(secret), false, secret);
      }
      assert.match(stored, /"payload":"f1\./, 'sealed');
      await rig.runner.runDue();
      assert.equal(rig.sent[0]?.text.includes(token), true, 'and still delivered intact');
    });

    it('a sealed payload copied onto another mail job does not open there: that job is given up on, nothing is redirected', async () => {
      const rig = mailRig(db);
      const victimToken = randomBytes(32).toString('base64url');
      await db.transaction().execute(async (trx) => {
        await rig.queue.enqueue(trx, resetMail(victimToken), { userId: null });
        await rig.queue.enqueue(trx, { to: 'attacker@example.test', subject: 'x', text: 'x' }, { userId: null });
      });
      const [victim, attacker] = await mailJobs(db);
      // Someone with write access to the table copies the victim's mail onto their own job.
      await db.updateTable('jobs').set({ payload: victim!.payload }).where('id', '=', attacker!.id).execute();
      await rig.runner.runDue();
      assert.equal(rig.sent.length, 1, 'the copy is not sent a second time');
      const after = new Map((await mailJobs(db)).map((row) => [row.id, row]));
      assert.equal(after.get(attacker!.id)!.last_error, 'invalid_payload');
      assert.notEqual(after.get(attacker!.id)!.failed_at, null);
      assert.notEqual(after.get(victim!.id)!.done_at, null);
    });

    it('a payload sealed under another key does not open: the mail is given up on, never sent', async () => {
      const writer = mailRig(db);
      await db.transaction().execute((trx) => writer.queue.enqueue(trx, resetMail('tok'), { userId: null }));
      const otherKey = mailRig(db);
      await otherKey.runner.runDue();
      assert.deepEqual(otherKey.sent, []);
      assert.equal((await mailJobs(db))[0]!.last_error, 'invalid_payload');
    });

    it('two instances polling one queue send each mail exactly once', async () => {
      const sent: MailMessage[] = [];
      const slowly = async (message: MailMessage): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        sent.push(message);
      };
      const first = mailRig(db, { transport: slowly });
      const second = mailRig(db, { key: first.key, transport: slowly });
      const tokens: string[] = [];
      for (let n = 0; n < 25; n++) tokens.push(`tok-${n}-${randomBytes(4).toString('hex')}`);
      await db.transaction().execute(async (trx) => {
        for (const token of tokens) await first.queue.enqueue(trx, resetMail(token), { userId: null });
      });
      await Promise.all([first.runner.runDue(), second.runner.runDue(), first.runner.runDue(), second.runner.runDue()]);
      await first.runner.runDue();
      const sentTokens = sent.map((message) => /token=([^\s]+)/.exec(message.text)?.[1]);
      assert.equal(sentTokens.length, tokens.length, 'none sent twice, none left');
      assert.deepEqual(new Set(sentTokens), new Set(tokens));
    });

    it('the logs name neither the recipient nor the link, even when the SMTP error quotes the recipient', async () => {
      const rig = mailRig(db);
      const token = randomBytes(32).toString('base64url');
      rig.failNext(1, Object.assign(new Error(`550 <${RECIPIENT}>: mailbox unavailable`), { code: 'EENVELOPE', responseCode: 451, rejected: [RECIPIENT] }));
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail(token), { userId: null }));
      await rig.runner.runDue();
      rig.time.advanceSeconds(1);
      await rig.runner.runDue();
      assert.equal(rig.sent.length, 1);
      const logs = rig.logs.join('\n');
      assert.match(logs, /mail delivery failed/);
      assert.match(logs, /mail sent/);
      assert.match(logs, /"code":"EENVELOPE"/);
      for (const secret of [RECIPIENT, token]) assert.equal(logs.includes(secret), false, secret);
    });

    it('a failing transport never throws at the change, and its log keeps the error code (ECONNREFUSED) without recipient or link', async () => {
      const rig = mailRig(db);
      const token = randomBytes(32).toString('base64url');
      rig.failNext(1, Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }));
      await db.transaction().execute((trx) => rig.queue.enqueue(trx, resetMail(token), { userId: null }));
      await rig.runner.runDue();
      const logs = rig.logs.join('\n');
      assert.match(logs, /mail delivery failed/);
      assert.match(logs, /"code":"ECONNREFUSED"/);
      for (const secret of [RECIPIENT, token]) assert.equal(logs.includes(secret), false, secret);
    });
  });
}
