// `gatehouse keys rotate-data-keys --all` while three `gatehouse serve` processes on one
// PostgreSQL and Redis serve a steady load (test/helpers/steady-load.ts: logins on one
// instance and /v1/me, which decrypts the email, on all three; refreshes; an admin creating
// accounts that then log in elsewhere): not one request may fail. Afterwards every account
// lists its sessions (address and user agent opened, including the sessions sealed while
// its key was being replaced) on every instance, and the audit chain verifies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, postgresEngineForInstances } from '../helpers/instances.ts';
import { loadAccounts, startSteadyLoad } from '../helpers/steady-load.ts';

const CLIENTS = 4;
const ACCOUNTS = 40;
const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;

describe('data-key rotation while three instances serve', { skip, timeout: 240_000 }, () => {
  const cluster = instancesPerSuite({ count: 3 });

  it('rotate-data-keys --all under a steady load: no request fails, every session opens on every instance, the chain verifies', async (t) => {
    const accounts = await loadAccounts(cluster(), ACCOUNTS);
    const clients = accounts.slice(0, CLIENTS);
    const env = { ...cluster().env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn' };
    const load = startSteadyLoad({ servers: () => cluster().servers, clients, admin: cluster().admin, accountEveryMs: 1_000, signal: t.signal });
    let rotation: Awaited<ReturnType<typeof run>>;
    const startedAt = performance.now();
    try {
      await sleep(1_000);
      rotation = await run(['keys', 'rotate-data-keys', '--all', '--batch', '5', '--pause-ms', '40'], env);
      await sleep(1_000);
    } finally {
      await load.stop();
    }
    t.diagnostic(`rotation took ${Math.round(performance.now() - startedAt - 2_000)} ms: ${rotation.stdout.trim().split('\n').at(-1) ?? ''}`);
    t.diagnostic(`answers checked: ${[...load.answered].map(([what, n]) => `${n} ${what}`).join(', ')}; failed: ${load.failures.length}`);
    assert.equal(rotation.code, 0, rotation.stderr);
    const rotated = Number(/: (\d+) data keys rotated/.exec(rotation.stdout)?.[1]);
    assert.ok(rotated >= ACCOUNTS + 1, `${rotated} rotated`);
    assert.deepEqual(load.failures, [], `failed requests:\n${load.describeFailures()}`);

    for (const account of [...clients, ...accounts.slice(CLIENTS, CLIENTS + 4)]) {
      const login = await call(cluster().servers[0]!, 'POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
      assert.equal(login.status, 200);
      for (const server of cluster().servers) {
        const listed = await fetch(`${server.baseURL}/v1/me/sessions`, { headers: { authorization: `Bearer ${String(login.json['access_token'])}` } });
        assert.equal(listed.status, 200);
        const sessions = (await listed.json()) as { ip: string | null }[];
        assert.ok(sessions.length >= 2 && sessions.every((session) => session.ip !== null), 'every session shows its address');
      }
    }
    const verified = await run(['audit', 'verify'], env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /audit chain intact/);
  });
});
