// `gatehouse keys rotate-audit` while two `gatehouse serve` processes on one PostgreSQL
// write audited changes under a steady load (logins, refreshes, accounts created): not one
// request fails, both instances switch to the new key at the hand-over, the chain verifies
// (CLI and API), an NDJSON export spanning the rotation verifies offline, and so does a
// backup taken after it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, postgresEngineForInstances, randomClientAddress } from '../helpers/instances.ts';
import { loadAccounts, startSteadyLoad } from '../helpers/steady-load.ts';
import { testWebhookSecret, webhookRows } from '../../src/features/webhooks/webhooks.fixtures.ts';

const CLIENTS = 3;
const WEBHOOK_URL = 'http://127.0.0.1:9/audit-hooks';
const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;

describe('audit-key rotation while two instances write audited changes', { skip, timeout: 240_000 }, () => {
  const cluster = instancesPerSuite({ count: 2 });
  const cliEnv = (): Record<string, string> => ({ ...cluster().env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn' });

  it('rotate-audit under load: no request fails, every record after the hand-over is under the new key, the chain, an export and a backup verify', { timeout: 200_000 }, async (t) => {
    const db = cluster().database.database.db;
    const clients = await loadAccounts(cluster(), CLIENTS);
    const load = startSteadyLoad({ servers: () => cluster().servers, clients, admin: cluster().admin, accountEveryMs: 500, signal: t.signal });
    let rotated: string;
    try {
      await sleep(2_000);
      // With security webhooks configured for the command, the hand-over is one (nobody
      // delivers it here: the instances have no receivers; its job is what is checked).
      const rotation = await run(['keys', 'rotate-audit'], { ...cliEnv(), SECURITY_WEBHOOK_URLS: WEBHOOK_URL, SECURITY_WEBHOOK_SECRET: testWebhookSecret() });
      assert.equal(rotation.code, 0, rotation.stderr + rotation.stdout);
      rotated = rotation.stdout;
      await sleep(3_000);
    } finally {
      await load.stop();
    }
    t.diagnostic(rotated.trim());
    t.diagnostic(`answers checked: ${[...load.answered].map(([what, n]) => `${n} ${what}`).join(', ')}; failed: ${load.failures.length}`);
    assert.deepEqual(load.failures, [], `failed requests:\n${load.describeFailures()}`);
    const seq = Number(/audit key rotated: audit-chain -> audit-chain:2, hand-over at seq (\d+)/.exec(rotated)?.[1]);
    assert.ok(Number.isSafeInteger(seq), rotated);

    // Each instance writes again, after the rotation: an account created through each.
    for (const server of cluster().servers) {
      const email = `after.${randomClientAddress().replaceAll('.', '-')}@example.test`;
      const created = await call(server, 'POST', '/v1/admin/users', { token: cluster().admin, body: { email, password: 'a long and quite unusual passphrase', email_verified: true } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
    }
    const rows = await db.selectFrom('audit_events').select(['seq', 'action', 'key_id']).orderBy('seq').execute();
    const handovers = rows.filter((row) => row.action === 'audit.key_rotated').map((row) => row.seq);
    assert.deepEqual(handovers, [seq]);
    const handover = await db.selectFrom('audit_events').select('id').where('seq', '=', seq).executeTakeFirstOrThrow();
    const hooks = await webhookRows(db, { eventId: handover.id, urls: [WEBHOOK_URL] });
    assert.deepEqual(hooks.map((hook) => [hook.url, hook.event_type]), [[WEBHOOK_URL, 'audit.key_rotated']]);
    const before = rows.filter((row) => row.seq <= seq);
    const after = rows.filter((row) => row.seq > seq);
    t.diagnostic(`${before.length} records up to the hand-over, ${after.length} after it`);
    assert.deepEqual([...new Set(before.map((row) => row.key_id))], ['audit-chain']);
    assert.deepEqual([...new Set(after.map((row) => row.key_id))], ['audit-chain:2']);
    assert.ok(after.length >= 3, `${after.length} records after the hand-over`);

    const mark = (what: string): void => { t.diagnostic(`${what} at ${new Date().toISOString()}`); };
    mark('verifying');
    const verified = await run(['audit', 'verify'], cliEnv());
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /audit chain intact: \d+ records verified, head seq \d+ hash [0-9a-f]{64} key audit-chain:2/);
    assert.ok(verified.stdout.includes(`intact: ${rows.length} records verified`), verified.stdout);
    for (const server of cluster().servers) {
      const check = await call(server, 'GET', '/v1/admin/audit/verify', { token: cluster().admin });
      assert.equal(check.status, 200);
      assert.equal(check.json['ok'], true, JSON.stringify(check.json));
    }

    mark('verified by the CLI and the API');
    const work = await mkdtemp(join(tmpdir(), 'gh-audit-rotation-'));
    try {
      // The export, copied out and verified offline with this installation's key versions.
      const response = await fetch(`${cluster().servers[1]!.baseURL}/v1/admin/audit/export`, {
        headers: { authorization: `Bearer ${cluster().admin}`, 'x-forwarded-for': randomClientAddress() },
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 200);
      const exported = await response.text();
      const lines = exported.trim().split('\n');
      assert.deepEqual((JSON.parse(lines[0]!) as { anchor: unknown }).anchor, { seq: 0, hash: '0'.repeat(64), key_id: null });
      assert.equal((JSON.parse(lines.at(-1)!) as { end: { key_id: string } }).end.key_id, 'audit-chain:2');
      const file = join(work, 'audit.ndjson');
      await writeFile(file, exported);
      const offline = await run(['audit', 'verify', '--file', file], cliEnv());
      assert.equal(offline.code, 0, offline.stdout + offline.stderr);
      assert.match(offline.stdout, /export intact: \d+ records verified after seq 0 \(anchored by genesis\)/);
      mark('export verified');
      // The same copy with the first record after the hand-over claiming the old key fails.
      const forged = lines.map((line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        return record['seq'] === seq + 1 ? JSON.stringify({ ...record, key_id: 'audit-chain' }) : line;
      });
      await writeFile(file, `${forged.join('\n')}\n`);
      const refused = await run(['audit', 'verify', '--file', file], cliEnv());
      assert.equal(refused.code, 1);
      assert.ok(refused.stdout.includes(`export BROKEN at seq ${seq + 1} (key_mismatch)`), refused.stdout);

      mark('forged export refused');
      // A backup taken after the rotation restores with a chain that verifies across it.
      const identity = join(work, 'identity.txt');
      const keygen = await run(['backup', 'keygen', '--out', identity], cliEnv());
      assert.equal(keygen.code, 0, keygen.stderr);
      const recipient = /(age1[0-9a-z]+)/.exec(keygen.stdout)?.[1] ?? '';
      const backupFile = join(work, 'after-rotation.age');
      const backup = await run(['backup', 'create', '--out', backupFile, '--recipient', recipient], cliEnv());
      assert.equal(backup.code, 0, backup.stderr);
      mark('backup created');
      const restored = await run(['backup', 'verify', backupFile, '--identity', identity], cliEnv());
      assert.equal(restored.code, 0, restored.stdout + restored.stderr);
      assert.match(restored.stdout, /audit chain: \d+ records verified; head matches/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
