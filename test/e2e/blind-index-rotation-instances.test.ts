// The blind-index rotation as docs/operations.md tells it: `gatehouse keys rotate-blind-index`
// run as a child process, with its default grace, while two `gatehouse serve` processes on
// one PostgreSQL and Redis serve a steady load (test/helpers/steady-load.ts: clients
// logging in by email on one instance and reading /v1/me on both, refreshes, and accounts
// the admin creates on each instance that then log in on the other). Not one request may
// fail, and afterwards every account logs in on every instance with only the new key left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BLIND_INDEX_RELOAD_MS } from '../../src/core/crypto/blind-index-keys.ts';
import { run } from '../helpers/cli.ts';
import { call, instancesPerSuite, postgresEngineForInstances } from '../helpers/instances.ts';
import { startSteadyLoad, type LoadAccount } from '../helpers/steady-load.ts';

const skip = postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false;
const CLIENTS = 3;
const RESTING = 40;

describe('blind-index rotation while two instances serve', { skip, timeout: 240_000 }, () => {
  const cluster = instancesPerSuite({ count: 2 });

  it('rotate-blind-index with its default grace: no failed request, every account found on every instance afterwards', async (t) => {
    const { servers } = cluster();
    const clients: LoadAccount[] = [];
    for (let n = 0; n < CLIENTS; n += 1) {
      const user = await cluster().account();
      const login = await call(servers[n % servers.length]!, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(login.status, 200);
      clients.push({ email: user.email, password: user.password, refreshToken: String(login.json['refresh_token']) });
    }
    // Accounts nobody touches under the load: rows for the move to carry.
    const resting = [];
    for (let n = 0; n < RESTING; n += 1) resting.push(await cluster().account());

    const load = startSteadyLoad({ servers: () => cluster().servers, clients, admin: cluster().admin, accountEveryMs: 1_000, signal: t.signal });
    let stdout = '';
    try {
      await sleep(1_000);
      const startedAt = performance.now();
      const rotation = await run(['keys', 'rotate-blind-index', '--batch-size', '5', '--pause-ms', '100'], { ...cluster().env, GATEHOUSE_ENV: 'development', LOG_LEVEL: 'warn' });
      stdout = rotation.stdout;
      assert.equal(rotation.code, 0, rotation.stderr);
      t.diagnostic(`the command took ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${rotation.stdout.trim().split('\n').at(-1)}`);
      // Long enough for both instances to have reloaded the finished state.
      await sleep(BLIND_INDEX_RELOAD_MS + 1_000);
    } finally {
      await load.stop();
    }
    t.diagnostic(`answers checked: ${[...load.answered].map(([what, n]) => `${n} ${what}`).join(', ')}; failed: ${load.failures.length}`);
    assert.deepEqual(load.failures, [], `failed requests:\n${load.describeFailures()}`);
    assert.match(stdout, /blind-index key rotated: blind-index -> blind-index:2/);
    assert.ok(load.created.length > 0, 'accounts were created under the load');

    const db = cluster().database.database.db;
    const keys = await db.selectFrom('system_keys').select('id').where('purpose', '=', 'blind-index').execute();
    assert.deepEqual(keys.map((key) => key.id), ['blind-index:2']);
    const stale = await db.selectFrom('users').select('id').where('email_index_key', '<>', 'blind-index:2').execute();
    assert.deepEqual(stale, []);
    for (const account of [...clients, ...resting, ...load.created]) {
      for (const server of servers) {
        const login = await call(server, 'POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
        assert.equal(login.status, 200, `${account.email} on ${server.baseURL}: ${JSON.stringify(login.json)}`);
      }
    }
  });
});
