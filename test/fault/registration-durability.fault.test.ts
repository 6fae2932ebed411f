// A 202 to a registration means it was saved. The review found 7 of 73 acknowledged
// registrations lost to a kill -9: the work ran in memory after the response. Now the
// request commits a job before it answers, so here `gatehouse serve` (PGlite on disk,
// mail to the development outbox) is killed with SIGKILL in the middle of a stream of
// registrations, started again on the same DATA_DIR, and every registration it
// acknowledged must exist (login with its password says the address is unverified, not
// that the credentials are wrong) and get its verification mail. Jobs the killed
// instance had claimed wait for their lease to run out (the longest timeout of the kinds
// claimed, mail's 30 s, plus the stop grace and a 10 s margin: about 45 s).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type ServerProcess } from '../helpers/server-process.ts';

const generousLimits = { RATE_LIMIT_MAX: '100000', AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000' };
const WRITERS = 4;
const KILL_AFTER_ACKNOWLEDGED = 24;

async function outboxRecipients(dataDir: string): Promise<string[]> {
  const directory = join(dataDir, 'outbox');
  const files = await readdir(directory).catch(() => [] as string[]);
  const recipients: string[] = [];
  for (const file of files.filter((name) => name.endsWith('.eml'))) {
    const text = await readFile(join(directory, file), 'utf8');
    const to = /^To: (.+)$/m.exec(text)?.[1]?.trim();
    if (to !== undefined && /Subject: .*Confirm your email/i.test(text)) recipients.push(to);
  }
  return recipients;
}

describe('an acknowledged registration survives kill -9', { timeout: 178_000 }, () => {
  let server: ServerProcess | null = null;
  let dataDir = '';
  after(async () => {
    await server?.stop();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('every registration answered 202 before the kill exists after the restart and gets its verification mail', async (t) => {
    dataDir = await mkdtemp(join(tmpdir(), 'gh-durable-'));
    const env = { ...generousLimits, DATA_DIR: dataDir };
    server = await startServer({ env, until: 'ready' });
    const running = server;
    const password = `correct horse ${randomBytes(8).toString('hex').replace(/\d/g, 'x')} battery staple`;
    const acknowledged: string[] = [];
    const refused: number[] = [];
    let stop = false;
    let sent = 0;
    async function writer(index: number): Promise<void> {
      while (!stop && sent < 400) {
        sent += 1;
        const email = `durable.${index}.${sent}.${randomBytes(3).toString('hex')}@example.test`;
        try {
          const answer = await running.request('POST', '/v1/auth/register', { body: { email, password } });
          if (answer.status === 202) acknowledged.push(email);
          else refused.push(answer.status);
        } catch {
          return; // the connection died with the server
        }
      }
    }
    const writers = Array.from({ length: WRITERS }, (_, index) => writer(index));
    while (acknowledged.length < KILL_AFTER_ACKNOWLEDGED && running.running()) await sleep(5);
    // Requests are in flight in every writer at this moment.
    const exit = await running.kill();
    stop = true;
    await Promise.all(writers);
    assert.equal(exit.signal, 'SIGKILL');
    assert.deepEqual(refused, [], 'nothing was refused before the kill');
    assert.ok(acknowledged.length >= KILL_AFTER_ACKNOWLEDGED, `acknowledged ${acknowledged.length}`);

    server = await startServer({ env, until: 'ready' });
    const restarted = server;
    const expected = new Set(acknowledged);
    let mailed = new Set<string>();
    const restartedAt = Date.now();
    while (Date.now() - restartedAt < 135_000 && [...expected].some((email) => !mailed.has(email))) {
      await sleep(250);
      mailed = new Set(await outboxRecipients(dataDir));
    }
    t.diagnostic(`${expected.size} acknowledged before the kill; all mailed ${Date.now() - restartedAt} ms after the restart`);
    const unmailed = [...expected].filter((email) => !mailed.has(email));
    assert.deepEqual(unmailed, [], `${unmailed.length} of ${expected.size} acknowledged registrations got no verification mail`);
    for (const email of acknowledged) {
      const login = await restarted.request('POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(login.code, 'email_not_verified', `${email}: the account exists with its password (${login.status})`);
    }
    restarted.assertAlive();
  });
});
