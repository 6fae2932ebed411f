// Gatehouse on a Redis Cluster whose nodes speak only TLS, for real: three redis-server
// primaries of this test's own on 127.0.0.1:7301–7303 (no plaintext port, TLS between the
// nodes too), serving certificates for 127.0.0.1 from a CA made here, and `gatehouse
// serve` instances seeded with a rediss:// URL of the first node. The instances trust the
// test CA the way any Node process is told to, NODE_EXTRA_CA_CERTS: the TLS options of
// the seed URL reach every node the cluster announces (`clusterSeed`'s `tls: {}`) and the
// subscriber connection. What must hold:
// - over TLS, two instances count a subject's hits once on every node (N sent at once get
//   exactly the limit through), a logout on one is refused on the other within 100 ms
//   through the cluster's pub/sub, and `gatehouse doctor` passes on the cluster;
// - nodes whose certificate the instance does not trust (it trusts a second CA instead):
//   it fails closed, rate-limited routes answer a fast 503 service_unavailable and
//   /readyz 503, never a 500, the log names the certificate, and it never falls back to
//   plaintext.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { addressKey, addressOn, assertFastRefusal, badLogin, logoutReachesFirst, redisFinding } from '../helpers/cluster-logins.ts';
import { call, logIn, postgresEngineForInstances } from '../helpers/instances.ts';
import { startServer } from '../helpers/server-process.ts';
import { makeCA, makeServerCertificate } from '../helpers/test-ca.ts';
import { ClusterDeployment } from '../helpers/cluster-deployment.ts';
import { startThrowawayRedisCluster } from '../helpers/throwaway-redis-cluster.ts';

const PORTS = [7301, 7302, 7303] as const;
const AUTH_RATE_LIMIT_MAX = 5;
/** As on a single Redis (test/e2e/multi-instance.test.ts). */
const BOUND_MS = 100;

describe('two instances on a Redis Cluster that speaks only TLS', { skip: postgresEngineForInstances() === null ? 'DATABASE_URL_TEST is not set' : false, timeout: 150_000 }, () => {
  const password = `tls-${randomBytes(12).toString('hex')}`;
  let dir = '';
  let trustedCA = '';
  let strangerCA = '';
  const deployment = new ClusterDeployment();
  let adminToken = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-redis-tls-'));
    trustedCA = (await makeCA(dir, 'ca')).cert;
    strangerCA = (await makeCA(dir, 'other-ca')).cert;
    // For IP:127.0.0.1, the address the nodes announce (CLUSTER SLOTS) and the seed's.
    const node = await makeServerCertificate(dir, 'redis', 'ca');
    await deployment.start(() => startThrowawayRedisCluster({ password, ports: PORTS, tls: { ...node, ca: trustedCA } }), { AUTH_RATE_LIMIT_MAX: String(AUTH_RATE_LIMIT_MAX), NODE_EXTRA_CA_CERTS: trustedCA });
    assert.match(deployment.cluster().url, /^rediss:\/\//);
    const [first] = deployment.servers();
    assert.ok(first !== undefined);
    adminToken = (await logIn(first, deployment.instances().admin.email, deployment.instances().admin.password)).access;
  }, { timeout: 90_000 });

  after(async () => {
    try {
      await deployment.stop();
    } finally {
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }
  });

  it('over TLS, N logins from one subject sent at once over both instances get exactly M through, on every node', { timeout: 30_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    const subjects = await Promise.all(PORTS.map((port) => addressOn(deployment.cluster(), port)));
    const hits = AUTH_RATE_LIMIT_MAX * 2 + 1;
    const answers = await Promise.all(subjects.map((address) =>
      Promise.all(Array.from({ length: hits }, (_unused, index) => badLogin(index % 2 === 0 ? one : two, address)))));
    for (const [index, address] of subjects.entries()) {
      const statuses = answers[index]?.map((answer) => answer.status) ?? [];
      t.diagnostic(`subject on node ${PORTS[index] ?? '?'}: ${statuses.join(',')}`);
      assert.equal(statuses.filter((status) => status === 401).length, AUTH_RATE_LIMIT_MAX, statuses.join(','));
      assert.equal(statuses.filter((status) => status === 429).length, hits - AUTH_RATE_LIMIT_MAX, statuses.join(','));
      assert.equal(await deployment.cluster().get(addressKey('auth-address', address)), String(hits));
    }
  });

  it(`over TLS, a logout on instance 2 is refused on instance 1 within ${BOUND_MS} ms, through the cluster's pub/sub`, { timeout: 30_000 }, async (t) => {
    const [one, two] = deployment.servers();
    assert.ok(one !== undefined && two !== undefined);
    const ms = await logoutReachesFirst(one, two, adminToken);
    t.diagnostic(`refused on instance 1 ${ms.toFixed(1)} ms after instance 2 answered`);
    assert.ok(ms <= BOUND_MS, `refused only after ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms)`);
  });

  it('gatehouse doctor passes on the TLS cluster: state ok and every primary answering', { timeout: 30_000 }, async () => {
    assert.match(await redisFinding(deployment.instances().env), /^pass: cluster reachable \(state ok, every primary answered PING/);
  });

  it('nodes whose certificate the instance does not trust: it fails closed (fast 503s, /readyz 503, never a 500), names the certificate, and never talks plaintext', { timeout: 60_000 }, async (t) => {
    // The same deployment, but trusting a second CA that did not sign the nodes' certificate.
    const env = { ...deployment.instances().env, NODE_EXTRA_CA_CERTS: strangerCA };
    const logBefore = deployment.cluster().log().length;
    const stranger = await startServer({ env, until: 'listening' });
    t.after(() => stranger.stop());
    const answers = [];
    for (let round = 0; round < 6; round += 1) answers.push(await badLogin(stranger, (await addressOn(deployment.cluster(), PORTS[round % PORTS.length] ?? 0))));
    for (const answer of answers) {
      assertFastRefusal(answer);
    }
    assert.equal((await call(stranger, 'GET', '/readyz')).status, 503);
    assert.equal((await call(stranger, 'GET', '/healthz')).status, 200);
    assert.match(await redisFinding(env), /^fail: /);
    // Still refusing a while later: it keeps trying over TLS and never settles for less.
    await sleep(2_000);
    assert.equal((await badLogin(stranger, '10.0.0.1')).status, 503);
    assert.equal((await call(stranger, 'GET', '/readyz')).status, 503);
    stranger.assertAlive();
    assert.doesNotMatch(stranger.stderr, /Unhandled error event|\[ioredis\]/, `stderr:\n${stranger.stderr}`);
    assert.deepEqual([...stranger.stdout, stranger.stderr].filter((line) => line.includes(password)), [], 'the Redis password reached a log');
    // The refusal is the certificate's: the nodes saw TLS handshakes the client broke off
    // (Node closes without an alert when it rejects a certificate), and never plaintext on
    // their TLS port (OpenSSL's "wrong version number").
    const refusedConnections = deployment.cluster().log().slice(logBefore).split('\n').filter((line) => line.includes('Error accepting a client connection'));
    assert.ok(refusedConnections.length > 0, 'the nodes saw no connection from the instance');
    assert.deepEqual(refusedConnections.filter((line) => !/SSL routines::(unexpected eof while reading|tlsv1 alert)/.test(line)), []);
    assert.doesNotMatch(deployment.cluster().log(), /wrong version number/, 'a node was sent plaintext');
    const failures = stranger.stdout.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => String(entry['component']).startsWith('redis') && entry['failure'] !== undefined);
    assert.ok(failures.some((entry) => /certificate/i.test(JSON.stringify(entry['failure']))), `the log does not name the certificate: ${JSON.stringify(failures)}`);
    // The trusted instances were never disturbed.
    for (const server of deployment.servers()) assert.equal((await call(server, 'GET', '/readyz')).status, 200);
  });
});
