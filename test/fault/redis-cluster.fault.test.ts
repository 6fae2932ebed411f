// Gatehouse on a Redis Cluster (REDIS_CLUSTER=true), for real: three redis-server
// primaries of this test's own on 127.0.0.1:7101–7103 (with a password, which must reach
// every node and no log), and two `gatehouse serve` instances on one PostgreSQL database,
// seeded with the first node only. What must hold:
// - a subject's hits are counted once, atomically, whichever instance takes them, and on
//   whichever node its slot lives: N hits sent at once against a limit of M get exactly M
//   through, for subjects on every node;
// - every limit of one subject lives in one slot (the subject is the hash tag);
// - a revocation on one instance reaches the other through the cluster's pub/sub within the
//   bound the single-node deployment keeps (test/e2e/multi-instance.test.ts);
// - `gatehouse keys retire-signing --now` announces the retirement over the cluster, also
//   when the cluster client is slow to become ready (the command waits for it);
// - a node stopped under the instances: the routes counted on it answer a fast 503
//   service_unavailable, never a 500, nothing crashes, readiness names Redis, and service
//   comes back by itself with the node.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { call, logIn, postgresEngineForInstances, randomClientAddress, refusedAfter, type Reply } from '../helpers/instances.ts';
import { addressKey, addressOn, assertFastRefusal, badLogin, logoutReachesFirst, redisFinding, type Timed } from '../helpers/cluster-logins.ts';
import { run } from '../helpers/cli.ts';
import { sampleSum } from '../helpers/metrics.ts';
import { kidOf } from '../helpers/steady-load.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { ClusterDeployment } from '../helpers/cluster-deployment.ts';
import { startThrowawayRedisCluster } from '../helpers/throwaway-redis-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AUTH_RATE_LIMIT_MAX = 5;
/** As on a single Redis (test/e2e/multi-instance.test.ts); the cache TTL alone allows a second. */
const BOUND_MS = 100;
const SEED_PORT = 7101;
const METRICS_TOKEN = randomBytes(32).toString('base64url');

/** A TCP proxy on a free loopback port to 127.0.0.1:`port` that drops its first `refuse` connections at once. */
async function flakyProxy(port: number, refuse: number): Promise<{ readonly port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((client) => {
    count += 1;
    sockets.add(client);
    client.on('error', () => { client.destroy(); });
    if (count <= refuse) {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => { client.destroy(); });
    client.on('close', () => { upstream.destroy(); });
    upstream.on('close', () => { client.destroy(); });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    connections: () => count,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('two instances on a Redis Cluster of three nodes', { skip: postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false, timeout: 240_000 }, () => {
  const password = `cluster-${randomBytes(12).toString('hex')}`;
  const deployment = new ClusterDeployment();
  let adminToken = '';

  before(async () => {
    await deployment.start(() => startThrowawayRedisCluster({ password }), { AUTH_RATE_LIMIT_MAX: String(AUTH_RATE_LIMIT_MAX), METRICS_TOKEN });
    const [first] = deployment.servers();
    assert.ok(first !== undefined);
    adminToken = (await logIn(first, deployment.instances().admin.email, deployment.instances().admin.password)).access;
  }, { timeout: 150_000 });

  after(() => deployment.stop());

  it('N logins from one subject, sent at once over both instances, get exactly M through, on every node, each subject its own budget', { timeout: 60_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    const subjects = await Promise.all(deployment.cluster().ports.map((port) => addressOn(deployment.cluster(), port)));
    const nodes = await Promise.all(subjects.map((address) => deployment.cluster().nodeOf(addressKey('auth-address', address))));
    assert.equal(new Set(nodes).size, 3, `the subjects live on nodes ${nodes.join(', ')}`);
    const hits = AUTH_RATE_LIMIT_MAX * 2 + 1;
    // Every subject's hits at once, alternating instances: the count must be atomic.
    const answers = await Promise.all(subjects.map((address) =>
      Promise.all(Array.from({ length: hits }, (_unused, index) => badLogin(index % 2 === 0 ? one : two, address)))));
    for (const [index, address] of subjects.entries()) {
      const statuses = answers[index]?.map((answer) => answer.status) ?? [];
      const allowed = statuses.filter((status) => status === 401).length;
      const refused = statuses.filter((status) => status === 429).length;
      t.diagnostic(`subject on node ${nodes[index] ?? '?'}: ${allowed} allowed, ${refused} refused of ${hits}`);
      assert.equal(allowed, AUTH_RATE_LIMIT_MAX, `node ${nodes[index] ?? '?'}: ${statuses.join(',')}`);
      assert.equal(refused, hits - AUTH_RATE_LIMIT_MAX, `node ${nodes[index] ?? '?'}: ${statuses.join(',')}`);
      // Counted once per hit whichever instance took it, under the hash-tagged keys.
      assert.equal(await deployment.cluster().get(addressKey('auth-address', address)), String(hits));
      assert.equal(await deployment.cluster().get(addressKey('global', address)), String(hits));
    }
  });

  it('every limit of one subject lives in one slot: the subject is the hash tag', { timeout: 30_000 }, async () => {
    const address = randomClientAddress();
    const [one] = deployment.servers();
    assert.ok(one !== undefined);
    assert.equal((await badLogin(one, address)).status, 401);
    const global = addressKey('global', address);
    const perAddress = addressKey('auth-address', address);
    assert.equal(await deployment.cluster().keyslot(global), await deployment.cluster().keyslot(perAddress));
    assert.equal(await deployment.cluster().keyslot(global), await deployment.cluster().keyslot(address));
    // The keys the instances wrote are those: both counted the one hit.
    assert.equal(await deployment.cluster().get(global), '1');
    assert.equal(await deployment.cluster().get(perAddress), '1');
    // Untagged, the same two names would (almost always) hash apart: the tag is what joins them.
    const untagged = await Promise.all(Array.from({ length: 8 }, async () => {
      const other = randomClientAddress();
      return (await deployment.cluster().keyslot(`gatehouse:rl:global:${other}`)) === (await deployment.cluster().keyslot(`gatehouse:rl:auth-address:${other}`));
    }));
    assert.ok(untagged.includes(false));
  });

  /** Logs a new user in on instance 1, logs out on instance 2, and returns how long instance 1 took to refuse the token. */
  function logoutReachesInstanceOne(): Promise<number> {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    return logoutReachesFirst(one, two, adminToken);
  }

  async function resyncs(server: ServerProcess): Promise<number> {
    const response = await fetch(`${server.baseURL}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    return sampleSum(await response.text(), 'gatehouse_cache_resyncs_total');
  }

  it(`a logout on instance 2 is refused on instance 1 within ${BOUND_MS} ms, through the cluster's pub/sub`, { timeout: 30_000 }, async (t) => {
    const ms = await logoutReachesInstanceOne();
    t.diagnostic(`refused on instance 1 ${ms.toFixed(1)} ms after instance 2 answered`);
    assert.ok(ms <= BOUND_MS, `refused only after ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
  });

  it('the seed node (the subscribers\' node) restarted: each instance subscribes again, clears its caches, and hears the next revocation', { timeout: 60_000 }, async (t) => {
    const subscribed = deployment.servers();
    const before = await Promise.all(subscribed.map(resyncs));
    await deployment.cluster().killNode(SEED_PORT);
    await deployment.cluster().restartNode(SEED_PORT);
    // Messages published while a subscriber was away are lost: it must clear what it cached.
    for (const [index, server] of subscribed.entries()) {
      await waitFor(`instance ${index + 1} subscribed again and cleared its caches`, 15_000, async () => (await resyncs(server)) > (before[index] ?? 0));
    }
    await waitFor('logins are served on every node again', 15_000, async () => (await badLogin(subscribed[0]!, randomClientAddress())).status === 401);
    const ms = await logoutReachesInstanceOne();
    t.diagnostic(`after the seed's restart: refused on instance 1 ${ms.toFixed(1)} ms after instance 2 answered`);
    assert.ok(ms <= BOUND_MS, `refused only after ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
  });

  /** `gatehouse doctor`'s finding on Redis, with the instances' configuration. */
  function doctorRedisFinding(): Promise<string> {
    return redisFinding(deployment.instances().env);
  }

  it('gatehouse doctor checks the cluster: state ok and every primary answering', { timeout: 30_000 }, async () => {
    assert.match(await doctorRedisFinding(), /^pass: cluster reachable \(state ok, every primary answered PING/);
  });

  it('gatehouse keys retire-signing --now tells both instances over the cluster: the key\'s tokens are refused within a second', { timeout: 60_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    const { access } = await logIn(one, deployment.instances().admin.email, deployment.instances().admin.password);
    const me = (server: ServerProcess): Promise<Reply> => call(server, 'GET', '/v1/me', { token: access });
    for (const server of [one, two, one, two]) assert.equal((await me(server)).status, 200);
    const kid = kidOf(access);
    const retired = await run(['keys', 'retire-signing', '--now', '--', kid], { ...deployment.instances().env, LOG_LEVEL: 'warn' });
    assert.equal(retired.code, 0, retired.stderr);
    // Published on the cluster, not left to each instance's 5 s check.
    assert.match(retired.stdout, /every instance told over Redis/);
    const since = performance.now();
    const elapsed = await Promise.all([one, two].map((server) => refusedAfter(server, since, () => me(server), (reply) => reply.status === 401, 1_000)));
    t.diagnostic(`refused ${elapsed.map((ms) => `${ms.toFixed(1)} ms`).join(' and ')} after the command ended`);
  });

  it('gatehouse keys retire-signing --now waits for the cluster client: a seed that drops its first 4 connections still gets the change published', { timeout: 60_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    // The client learns the cluster from the seed and retries it after 100, 200, 300 and
    // 400 ms, so it is ready about a second after it opened; the command's own work takes
    // a fraction of that. Redis has no offline queue here, so without the command's wait
    // for ready the announcement fails and only each instance's 5 s check finds the
    // retirement.
    const proxy = await flakyProxy(SEED_PORT, 4);
    t.after(() => proxy.close());
    const { access } = await logIn(one, deployment.instances().admin.email, deployment.instances().admin.password);
    const me = (server: ServerProcess): Promise<Reply> => call(server, 'GET', '/v1/me', { token: access });
    for (const server of [one, two]) assert.equal((await me(server)).status, 200);
    const url = new URL(deployment.cluster().url);
    url.port = String(proxy.port);
    const started = performance.now();
    const retired = await run(['keys', 'retire-signing', '--now', '--', kidOf(access)], { ...deployment.instances().env, REDIS_URL: url.href, LOG_LEVEL: 'warn' });
    assert.equal(retired.code, 0, retired.stderr);
    assert.match(retired.stdout, /every instance told over Redis/);
    assert.ok(proxy.connections() > 4, `${proxy.connections()} connections to the seed`);
    const since = performance.now();
    const elapsed = await Promise.all([one, two].map((server) => refusedAfter(server, since, () => me(server), (reply) => reply.status === 401, 1_000)));
    t.diagnostic(`command took ${(since - started).toFixed(0)} ms; refused ${elapsed.map((ms) => `${ms.toFixed(1)} ms`).join(' and ')} after it ended`);
  });

  it('a node stopped: logins counted on it answer a fast 503, never a 500, nothing crashes, and service returns with the node', { timeout: 90_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    const victim = deployment.cluster().ports.find((port) => port !== SEED_PORT) ?? 0;
    const onVictim = await addressOn(deployment.cluster(), victim);
    const elsewhere = await addressOn(deployment.cluster(), SEED_PORT);
    for (const server of [one, two]) assert.equal((await call(server, 'GET', '/readyz')).status, 200);

    await deployment.cluster().killNode(victim);
    const refusals: Timed[] = [];
    const others: Timed[] = [];
    for (let round = 0; round < 4; round += 1) {
      for (const server of [one, two]) {
        refusals.push(await badLogin(server, onVictim));
        // Fewer than its budget: a 429 must not hide what the store does.
        if (round < 2) others.push(await badLogin(server, elsewhere));
      }
    }
    for (const answer of refusals) {
      assertFastRefusal(answer);
    }
    // A subject on a node that runs is served until the cluster itself declares the slots
    // lost (cluster-node-timeout); then it is refused too. Never a 500.
    assert.deepEqual(others.filter((answer) => answer.status !== 401 && answer.status !== 503).map((answer) => answer.status), []);
    t.diagnostic(`slowest 503: ${Math.max(...refusals.map((answer) => answer.ms)).toFixed(0)} ms; on a running node: ${others.map((answer) => answer.status).join(',')}`);
    for (const server of [one, two]) {
      await waitFor('/readyz answers 503', 5_000, async () => (await call(server, 'GET', '/readyz')).status === 503);
      assert.equal((await call(server, 'GET', '/healthz')).status, 200);
      assert.ok(server.running(), 'an instance crashed');
    }

    assert.match(await doctorRedisFinding(), /^fail: /);

    await deployment.cluster().restartNode(victim);
    for (const server of [one, two]) {
      await waitFor('logins counted on the node are served again', 30_000, async () => (await badLogin(server, randomClientAddress())).status === 401 && (await badLogin(server, onVictim)).status !== 503);
      await waitFor('/readyz answers 200', 15_000, async () => (await call(server, 'GET', '/readyz')).status === 200);
    }

    for (const server of [one, two]) {
      assert.ok(server.running(), 'an instance crashed');
      for (const line of server.stdout) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
      assert.doesNotMatch(server.stderr, /Unhandled error event|\[ioredis\]/, `stderr:\n${server.stderr}`);
      assert.deepEqual([...server.stdout, server.stderr].filter((line) => line.includes(password)), [], 'the Redis password reached a log');
      const logged = server.stdout.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['component'] === 'redis');
      assert.ok(logged.some((entry) => entry['level'] === 'error' || entry['level'] === 'warn'), 'the lost node is logged');
    }
  });
});
