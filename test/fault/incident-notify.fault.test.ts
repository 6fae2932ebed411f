// A breach notification rerun after a crash mails nobody twice and everybody once. The
// command is killed with SIGKILL twice while it queues a few hundred mails in small,
// paced batches (each kill a random moment after a batch committed, so some land inside
// the next batch's transaction), rerun to its end, and a real `gatehouse serve` then
// delivers the queue to its development outbox: every selected person has exactly one
// mail, and nobody else has any. On PGlite, and PostgreSQL when DATABASE_URL_TEST is set.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { EMPTY_DIR, run } from '../helpers/cli.ts';
import { countRows, deliverByServe, seedAccounts } from '../helpers/incident.ts';
import { MAIN } from '../helpers/server-process.ts';

const SELECTED = 300;
const EXAMPLE = new URL('../../docs/examples/incident-notification.txt', import.meta.url).pathname;

/** Starts the command and SIGKILLs it a random 0–200 ms after its `batch N:` progress line; answers how it ended. */
function runAndKill(args: readonly string[], env: Record<string, string>, afterBatch: number): Promise<{ readonly signal: NodeJS.Signals | null; readonly stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, ...args], { cwd: EMPTY_DIR, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killing = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 120_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (!killing && stderr.includes(`\nbatch ${afterBatch}:`)) {
        killing = true;
        setTimeout(() => { child.kill('SIGKILL'); }, randomInt(0, 200));
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, stderr });
    });
  });
}

after(async () => {
  await rm(EMPTY_DIR, { recursive: true, force: true });
});

for (const engine of testEngines()) {
  describe(`incident notify killed midway on ${engine.engine}`, { timeout: 280_000 }, () => {
    let work = '';
    let postgres: TestDatabase | null = null;
    after(async () => {
      await postgres?.cleanup();
      if (work !== '') await rm(work, { recursive: true, force: true });
    });

    it(`kill -9 twice mid-campaign, rerun: each of ${SELECTED} selected users has exactly one mail, nobody else any`, async (t) => {
      work = await mkdtemp(join(tmpdir(), 'gh-incident-fault-'));
      postgres = engine.engine === 'postgres' ? await engine.open({ migrate: false }) : null;
      const env = { LOG_LEVEL: 'warn', GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}`, DATA_DIR: join(work, 'data'), ...(postgres === null ? {} : { DATABASE_URL: postgres.url ?? '' }) };
      const accounts = await seedAccounts(env, [...Array.from({ length: SELECTED + 5 }, () => 'active' as const), 'disabled', 'erased']);
      const selected = accounts.slice(0, SELECTED);
      const listed = [...selected, ...accounts.slice(-2)];
      const usersFile = join(work, 'affected.txt');
      await writeFile(usersFile, `${listed.map((account) => account.id).join('\n')}\n`);
      // 100 a second in batches of 10: about 3 s of queueing, a batch every 100 ms.
      const args = ['incident', 'notify', '--users', usersFile, '--template', EXAMPLE, '--rate', '100', '--batch-size', '10'];
      const recipients = (): Promise<number> => countRows(env, async (db) => (await db.selectFrom('incident_recipients').select('user_id').execute()).length);

      const first = await runAndKill(args, env, 5);
      assert.equal(first.signal, 'SIGKILL', first.stderr);
      const afterFirst = await recipients();
      const second = await runAndKill(args, env, 12);
      assert.equal(second.signal, 'SIGKILL', second.stderr);
      assert.match(second.stderr, /campaign [0-9a-f-]{36} resumed/);
      const afterSecond = await recipients();
      t.diagnostic(`recorded after the first kill: ${afterFirst}, after the second: ${afterSecond}`);
      assert.ok(afterFirst >= 50 && afterSecond > afterFirst && afterSecond < SELECTED, `killed midway (${afterFirst}, ${afterSecond})`);
      const jobs = await countRows(env, async (db) => (await db.selectFrom('jobs').select('id').where('kind', '=', 'mail').execute()).length);
      assert.equal(jobs, afterSecond, 'every recorded recipient has exactly one mail job, and no job lacks its recipient');

      const campaign = /campaign ([0-9a-f-]{36}) started/.exec(first.stderr)?.[1] ?? '';
      const midway = await run(['incident', 'notify', '--status', campaign], env);
      assert.equal(midway.code, 0, midway.stderr);
      assert.ok(midway.stdout.includes(`not finished (rerun the same command`) && midway.stdout.includes(`recipients ${afterSecond}: queued ${afterSecond}`), midway.stdout);

      const rerun = await run(args, env);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.ok(rerun.stderr.includes(`finished; ${SELECTED - afterSecond} mails queued by this run (queued ${SELECTED}, not_mailable 2)`), rerun.stderr);

      await sleep(100);
      const delivered = await deliverByServe(env, SELECTED, 120_000);
      const counts = new Map<string, number>();
      for (const to of delivered) counts.set(to, (counts.get(to) ?? 0) + 1);
      const twice = [...counts].filter(([, count]) => count > 1);
      assert.deepEqual(twice, [], 'nobody is mailed twice');
      assert.deepEqual([...counts.keys()].sort(), selected.map((account) => account.email).sort(), 'every selected user once, nobody else');
    });
  });
}
