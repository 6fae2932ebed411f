// Three `gatehouse serve` processes on one PostgreSQL database and one Redis (a
// redis-server of this test's own, so no other test's budgets or messages mix in).
// Revocation made on one instance is refused by the two others within 100 ms (Redis
// pub/sub invalidation of their caches, core/cache-broadcast.ts), where the cache TTL
// alone allows up to a second; and a client spreading login attempts over the three gets
// the budget it would get on one. Each bound is measured from the moment the change's
// answer was read to the first refusal read from each other instance.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { call, instancesPerSuite, logIn, postgresEngineForInstances, randomClientAddress, refusedAfter, warm, type Cluster, type Reply } from '../helpers/instances.ts';
import type { ServerProcess } from '../helpers/server-process.ts';

const BOUND_MS = 100;
const AUTH_RATE_LIMIT_MAX = 5;
const LOCKOUT_THRESHOLD = 4;

describe('three instances on one PostgreSQL and Redis', { skip: postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false, timeout: 180_000 }, () => {
  const cluster = instancesPerSuite({ count: 3, env: { AUTH_RATE_LIMIT_MAX: String(AUTH_RATE_LIMIT_MAX), LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD) } });
  const servers = (): readonly ServerProcess[] => cluster().servers;
  const account = (roles: string[]): ReturnType<Cluster['account']> => cluster().account(roles);

  /**
   * Makes `change` on instance 2 once `request` succeeds everywhere with fresh cache
   * entries, then measures how long instances 1 and 3 take to refuse it.
   */
  async function revocationReaches(t: { diagnostic(message: string): void }, what: string, request: (server: ServerProcess) => Promise<Reply>, change: (server: ServerProcess) => Promise<Reply>, refusedStatus: number): Promise<void> {
    const [one, two, three] = servers();
    assert.ok(one !== undefined && two !== undefined && three !== undefined);
    await warm([one, two, three], request, 200);
    const sentAt = performance.now();
    const changed = await change(two);
    assert.ok(changed.status < 300, `${what}: ${changed.status}`);
    const elapsed = await Promise.all([one, three].map((server) =>
      refusedAfter(server, changed.doneAt, () => request(server), (reply) => reply.status === refusedStatus, 2_000)));
    t.diagnostic(`${what}: refused on instances 1 and 3 ${elapsed.map((ms) => `${ms.toFixed(1)} ms`).join(' and ')} after instance 2 answered (which took ${(changed.doneAt - sentAt).toFixed(1)} ms)`);
    for (const ms of elapsed) assert.ok(ms <= BOUND_MS, `${what}: refused only after ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
  }

  it('logout on instance 2: the access token is refused on instances 1 and 3 within 100 ms', async (t) => {
    const user = await account([]);
    const { access } = await logIn(servers()[0]!, user.email, user.password);
    await revocationReaches(t, 'logout', (server) => call(server, 'GET', '/v1/me', { token: access }), (server) => call(server, 'POST', '/v1/auth/logout', { token: access }), 401);
  });

  it('a role removed on instance 2: its permission is refused on instances 1 and 3 within 100 ms', async (t) => {
    const user = await account(['support']);
    const { access } = await logIn(servers()[0]!, user.email, user.password);
    await revocationReaches(t, 'role removal', (server) => call(server, 'GET', '/v1/admin/users?limit=1', { token: access }), (server) =>
      call(server, 'DELETE', `/v1/admin/users/${user.id}/roles/support`, { token: cluster().admin }), 403);
  });

  it('a user disabled on instance 2: their token is refused on instances 1 and 3 within 100 ms', async (t) => {
    const user = await account([]);
    const { access } = await logIn(servers()[0]!, user.email, user.password);
    await revocationReaches(t, 'disable', (server) => call(server, 'GET', '/v1/me', { token: access }), (server) =>
      call(server, 'PATCH', `/v1/admin/users/${user.id}`, { token: cluster().admin, body: { status: 'disabled' } }), 401);
  });

  it('a client spreading login attempts over three instances gets the budget it gets on one', async (t) => {
    /** How many attempts from `from` are answered before the first 429. */
    async function attemptsBeforeRefusal(pick: (attempt: number) => ServerProcess, from: string): Promise<number> {
      for (let attempt = 0; attempt < AUTH_RATE_LIMIT_MAX * 3; attempt += 1) {
        const body = { email: `nobody.${randomBytes(6).toString('hex')}@example.test`, password: 'not the right password at all' };
        const reply = await call(pick(attempt), 'POST', '/v1/auth/login', { body, from });
        if (reply.status === 429) return attempt;
        assert.equal(reply.status, 401);
      }
      return Number.POSITIVE_INFINITY;
    }
    const all = servers();
    const spread = await attemptsBeforeRefusal((attempt) => all[attempt % all.length]!, randomClientAddress());
    const single = await attemptsBeforeRefusal(() => all[0]!, randomClientAddress());
    t.diagnostic(`refused after ${spread} attempts spread over three instances, ${single} on one`);
    assert.equal(single, AUTH_RATE_LIMIT_MAX);
    assert.equal(spread, single);
  });

  it('wrong passwords spread over the instances lock the account after the threshold, on all of them', async () => {
    const user = await account([]);
    const all = servers();
    // From a new address each time: the lockout counts per account, whoever asks.
    let failed = 0;
    for (; failed < LOCKOUT_THRESHOLD * 3; failed += 1) {
      const reply = await call(all[failed % all.length]!, 'POST', '/v1/auth/login', { body: { email: user.email, password: 'not the right password at all' } });
      if (reply.status !== 401) {
        assert.equal(reply.status, 429);
        break;
      }
    }
    assert.equal(failed, LOCKOUT_THRESHOLD, 'the same threshold as on one instance');
    for (const server of all) {
      const right = await call(server, 'POST', '/v1/auth/login', { body: { email: user.email, password: user.password } });
      assert.equal(right.status, 429, 'the right password is refused while locked, on every instance');
    }
  });
});
