// `gatehouse keys rotate-audit` killed with SIGKILL between its steps (after creating the
// new key; after appending the hand-over, before its commit, holding the chain lock), then
// run again: it completes, with exactly one hand-over, and the chain verifies. Meanwhile
// nothing else is lost: a record written after the kill is sealed under the key in force.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { run } from '../helpers/cli.ts';
import { postgresEngineForInstances } from '../helpers/instances.ts';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import type { TestDatabase } from '../helpers/database.ts';

const CHILD = new URL('./audit-rotation-child.ts', import.meta.url).pathname;
const engine = postgresEngineForInstances();
const skip = engine === null ? 'DATABASE_URL_TEST is not set' : false;
const PASSWORD = 'a long and quite unusual passphrase\n';

/** Starts the rotation, waits until it pauses after `step`, and kills it there. */
async function killAfter(step: string, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, CHILD, step], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal); }));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no pause after ${step} within 30 s: ${output}`)); }, 30_000);
    const listen = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(`paused after ${step}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', listen);
    child.stderr.on('data', listen);
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  return output;
}

describe('audit key rotation killed midway', { skip, timeout: 240_000 }, () => {
  for (const step of ['key_created', 'handover_appended']) {
    it(`killed (SIGKILL) after ${step} and run again: one hand-over, the chain verifies`, { timeout: 120_000 }, async (t) => {
      const database: TestDatabase = await engine!.open();
      try {
        const env = { DATABASE_URL: database.url ?? '', GATEHOUSE_MASTER_KEY: `k1:${randomBytes(32).toString('base64url')}`, LOG_LEVEL: 'warn', GATEHOUSE_ENV: 'development' };
        const created = await run(['users', 'create', '--email', `before.${step}@example.test`], env, PASSWORD);
        assert.equal(created.code, 0, created.stderr);
        t.diagnostic(await killAfter(step, env));
        const db = database.database.db;
        const pending = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'audit-chain').orderBy('id').execute();
        assert.deepEqual(pending.map((row) => row.id), ['audit-chain', 'audit-chain:2']);
        assert.equal((await db.selectFrom('audit_events').select('seq').where('action', '=', 'audit.key_rotated').execute()).length, 0, 'the killed hand-over did not commit');
        // Doctor tells of the unfinished rotation; the installation goes on under the old key meanwhile.
        const doctor = await run(['doctor', '--json'], env);
        const audit = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; summary: string }[] }).checks.find((check) => check.name === 'audit-chain');
        assert.equal(audit?.status, 'warn', doctor.stdout);
        assert.match(audit.summary, /rotation is unfinished: audit-chain:2/);
        const between = await run(['users', 'create', '--email', `between.${step}@example.test`], env, PASSWORD);
        assert.equal(between.code, 0, between.stderr);

        const again = await run(['keys', 'rotate-audit'], env);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /audit key resumed an interrupted rotation: audit-chain -> audit-chain:2, hand-over at seq \d+/);
        const after = await run(['users', 'create', '--email', `after.${step}@example.test`], env, PASSWORD);
        assert.equal(after.code, 0, after.stderr);

        const handovers = await db.selectFrom('audit_events').select('seq').where('action', '=', 'audit.key_rotated').execute();
        assert.equal(handovers.length, 1);
        const keys = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'audit-chain').orderBy('id').execute();
        assert.deepEqual(keys.map((row) => row.id), ['audit-chain', 'audit-chain:2']);
        const newest = await db.selectFrom('audit_events').select('key_id').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
        assert.equal(newest.key_id, 'audit-chain:2');
        const verified = await run(['audit', 'verify'], env);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.match(verified.stdout, /audit chain intact: \d+ records verified, .* key audit-chain:2/);
      } finally {
        await database.cleanup();
      }
    });
  }
});
