// Gatehouse on a Redis Cluster with replicas, through a failover, for real: three
// primaries and a replica of each, of this test's own on 127.0.0.1:7201–7206, with a
// cluster-node-timeout of 1 s, and two `gatehouse serve` instances on it. The primary
// serving a subject's slot is killed (SIGKILL). What must hold, on the same running
// instances (no restart):
// - until its replica is promoted, logins counted on that slot answer a fast 503
//   service_unavailable with Retry-After, never a 500, and nothing crashes;
// - once the replica serves the slot, the instances find it by themselves (MOVED, or the
//   periodic slot refresh) within a bound, and count the subject again: N wrong-password
//   logins sent at once over both instances get exactly the limit through;
// - /readyz answers 200 again, and the log says which node was lost.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { addressKey, addressOn, assertFastRefusal, badLogin, FAST_MS, type Timed } from '../helpers/cluster-logins.ts';
import { call, postgresEngineForInstances } from '../helpers/instances.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { ClusterDeployment } from '../helpers/cluster-deployment.ts';
import { startThrowawayRedisCluster } from '../helpers/throwaway-redis-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PORTS = [7201, 7202, 7203, 7204, 7205, 7206] as const;
const NODE_TIMEOUT_MS = 1_000;
const AUTH_RATE_LIMIT_MAX = 5;
/**
 * Once the replica serves the slot, the instances must count on it within this: twice the
 * client's periodic slot refresh (5 s), which alone would find the new primary.
 */
const PICKUP_BOUND_MS = 10_000;
/** The cluster must have promoted the replica within this of the kill (node timeout, then an election). */
const PROMOTION_BOUND_MS = 20_000;
/** How late a node may hear of the promotion, after the replica took the slot. */
const GOSSIP_LAG_MS = 250;

describe('two instances on a Redis Cluster with replicas, through a failover', { skip: postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false, timeout: 150_000 }, () => {
  const password = `failover-${randomBytes(12).toString('hex')}`;
  const deployment = new ClusterDeployment();

  before(async () => {
    await deployment.start(() => startThrowawayRedisCluster({ password, ports: PORTS, replicasPerPrimary: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }), { AUTH_RATE_LIMIT_MAX: String(AUTH_RATE_LIMIT_MAX) });
  }, { timeout: 90_000 });

  after(() => deployment.stop());

  it('the primary of a subject\'s slot killed: fast 503s with Retry-After and never a 500 until its replica is promoted, then the same instances count the subject again, exactly M of N through', { timeout: 60_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    // Not the seed: the subscriber connections and the client's discovery stay up.
    const victim = (await Promise.all(PORTS.slice(1, 3).map(async (port) => ({ port, replicas: await deployment.cluster().replicasOf(port).catch(() => []) })))).find((node) => node.replicas.length === 1);
    assert.ok(victim !== undefined, 'no primary with a replica besides the seed');
    const [replica] = victim.replicas;
    assert.ok(replica !== undefined);
    // One subject probes until it is served again; another, untouched until then, takes the burst.
    const probe = await addressOn(deployment.cluster(), victim.port);
    const burst = await addressOn(deployment.cluster(), victim.port);
    // As a running node sees it, which may learn of the promotion a gossip round late.
    const promoted = async (): Promise<boolean> => await deployment.cluster().nodeOf(addressKey('auth-address', probe)) === replica;
    for (const server of [one, two]) {
      assert.equal((await call(server, 'GET', '/readyz')).status, 200);
      assert.equal((await badLogin(server, probe)).status, 401);
    }

    const killedAt = performance.now();
    await deployment.cluster().killNode(victim.port);
    // Probe both instances, back to back, while a watcher notes when the replica serves the slot.
    const watch = { promotedAt: Number.NaN };
    const watcher = (async (): Promise<void> => {
      while (Number.isNaN(watch.promotedAt) && performance.now() - killedAt < PROMOTION_BOUND_MS + PICKUP_BOUND_MS) {
        if (await promoted().catch(() => false)) watch.promotedAt = performance.now();
        else await sleep(20);
      }
    })();
    const servedAt = new Map<ServerProcess, number>();
    const answers: Timed[] = [];
    while (servedAt.size < 2) {
      if (Number.isNaN(watch.promotedAt)) assert.ok(performance.now() - killedAt < PROMOTION_BOUND_MS, `the replica was not promoted within ${PROMOTION_BOUND_MS} ms`);
      else assert.ok(performance.now() - watch.promotedAt < PICKUP_BOUND_MS, `the instances did not count on the promoted replica within ${PICKUP_BOUND_MS} ms of its promotion: ${answers.slice(-6).map((answer) => answer.status).join(',')}`);
      for (const server of [one, two]) {
        if (servedAt.has(server)) continue;
        const answer = await badLogin(server, probe);
        answers.push(answer);
        if (answer.status === 401) {
          // Served, and not by waiting out the failover.
          assert.ok(answer.ms < FAST_MS, `a login counted ${answer.ms.toFixed(0)} ms after it was sent, ${(answer.doneAt - killedAt).toFixed(0)} ms after the kill`);
          servedAt.set(server, answer.doneAt);
          continue;
        }
        assertFastRefusal(answer, `, ${(answer.doneAt - killedAt).toFixed(0)} ms after the kill`);
      }
    }
    await watcher;
    const { promotedAt } = watch;
    assert.ok(!Number.isNaN(promotedAt), 'the replica never served the slot');
    const refusals = answers.filter((answer) => answer.status === 503);
    assert.ok(refusals.length > 0, 'no refusal was seen while the slot had no primary');
    const firstServed = Math.min(...servedAt.values());
    // Only the promoted replica can count it (seen here up to a gossip round late).
    assert.ok(firstServed >= promotedAt - GOSSIP_LAG_MS, `a login was counted ${(promotedAt - firstServed).toFixed(0)} ms before the replica was seen promoted`);
    t.diagnostic(`${refusals.length} refusals (slowest ${Math.max(...refusals.map((answer) => answer.ms)).toFixed(0)} ms); replica ${replica} seen promoted ${(promotedAt - killedAt).toFixed(0)} ms after the kill of ${victim.port}; first login counted ${(firstServed - killedAt).toFixed(0)} ms after the kill (${(firstServed - promotedAt).toFixed(0)} ms after the promotion was seen), on both instances by ${(Math.max(...servedAt.values()) - killedAt).toFixed(0)} ms`);

    // Counted atomically on the new primary, whichever instance takes the hits.
    const hits = AUTH_RATE_LIMIT_MAX * 2 + 1;
    const statuses = (await Promise.all(Array.from({ length: hits }, (_unused, index) => badLogin(index % 2 === 0 ? one : two, burst)))).map((answer) => answer.status);
    assert.equal(statuses.filter((status) => status === 401).length, AUTH_RATE_LIMIT_MAX, statuses.join(','));
    assert.equal(statuses.filter((status) => status === 429).length, hits - AUTH_RATE_LIMIT_MAX, statuses.join(','));
    assert.equal(await deployment.cluster().nodeOf(addressKey('auth-address', burst)), replica);
    assert.equal(await deployment.cluster().get(addressKey('auth-address', burst)), String(hits));

    await waitFor('every running node says cluster_state:ok', PICKUP_BOUND_MS, () => deployment.cluster().isOk());
    for (const server of [one, two]) {
      await waitFor('/readyz answers 200 again', PICKUP_BOUND_MS, async () => (await call(server, 'GET', '/readyz')).status === 200);
      assert.ok(server.running(), 'an instance crashed');
      assert.doesNotMatch(server.stderr, /Unhandled error event|\[ioredis\]/, `stderr:\n${server.stderr}`);
      assert.deepEqual([...server.stdout, server.stderr].filter((line) => line.includes(password)), [], 'the Redis password reached a log');
      assert.ok(server.stdout.some((line) => line.includes('redis cluster node unavailable')), 'the lost node is not logged');
    }
  });
});
