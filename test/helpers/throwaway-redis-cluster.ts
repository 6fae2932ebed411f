// A Redis Cluster of a test's own on 127.0.0.1, never the shared Redis: by default three
// primaries (no replicas) on ports 7101–7103; a test that runs beside another asks for
// ports of its own, and may ask for replicas (`replicasPerPrimary`, the first ports are
// the primaries), a short `cluster-node-timeout` (how long before a silent node is
// declared failed and a replica takes over) and TLS only (`tls`: no plaintext port,
// TLS between the nodes too, clients not asked for a certificate). Each node is a
// foreground redis-server child of the test process, persisting nothing but the
// cluster's own nodes-<port>.conf in a temporary directory, so a stopped node started
// again rejoins with its slots. stop() kills every node and removes the directory; call it
// in an `after` hook, it is safe to call twice.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { answersPing } from './throwaway-redis.ts';

const run = promisify(execFile);

export const CLUSTER_PORTS = [7101, 7102, 7103] as const;

/** The PEM files of a TLS-only cluster: every node serves `cert`, and is trusted through `ca` by the others. */
export interface ClusterTLSFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface ThrowawayRedisClusterOptions {
  readonly password: string;
  /** The nodes' ports, primaries first; CLUSTER_PORTS by default. */
  readonly ports?: readonly number[];
  /** Replicas of each primary (`--cluster-replicas`); 0 by default. */
  readonly replicasPerPrimary?: number;
  /** `cluster-node-timeout`; Redis' 15 000 ms by default. */
  readonly nodeTimeoutMs?: number;
  /** Nodes that speak only TLS (`--port 0 --tls-port`), to clients and to each other. */
  readonly tls?: ClusterTLSFiles;
}

export interface ThrowawayRedisCluster {
  readonly ports: readonly number[];
  /** redis:// (rediss:// with TLS) URL of the first node (the seed), with the password. */
  readonly url: string;
  readonly password: string;
  /** The slot of `key`, as the cluster computes it (CLUSTER KEYSLOT). */
  keyslot(key: string): Promise<number>;
  /** The port of the node serving `key`'s slot, as a running node sees it. */
  nodeOf(key: string): Promise<number>;
  /** The ports of the replicas of the primary on `port`, as a running node sees them. */
  replicasOf(port: number): Promise<number[]>;
  /** What the nodes have written to their logs so far (the last MB), every node's in the order it came. */
  log(): string;
  /** Whether every running node says cluster_state:ok. */
  isOk(): Promise<boolean>;
  /** The value of `key`, read from the node that serves it. */
  get(key: string): Promise<string | null>;
  /** Kills one node at once (SIGKILL), as in a crash. */
  killNode(port: number): Promise<void>;
  /** Starts a killed node again; it rejoins with its slots. Resolves once the cluster is ok. */
  restartNode(port: number): Promise<void>;
  /** Kills every node and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The redis-server arguments that make a node speak TLS only, or listen in plaintext. */
function listenArguments(port: number, tls: ClusterTLSFiles | undefined): string[] {
  if (tls === undefined) return ['--port', String(port)];
  return [
    '--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-replication', 'yes',
    '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no',
  ];
}

export async function startThrowawayRedisCluster(options: ThrowawayRedisClusterOptions): Promise<ThrowawayRedisCluster> {
  const { password, tls } = options;
  const ports = options.ports ?? CLUSTER_PORTS;
  const replicas = options.replicasPerPrimary ?? 0;
  const dir = await mkdtemp(join(tmpdir(), 'gh-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const admin = new Map<number, Redis>();
  const cliTLS = tls === undefined ? [] : ['--tls', '--cacert', tls.ca];
  const clientTLS = tls === undefined ? {} : { tls: { ca: readFileSync(tls.ca) } };
  let output = '';
  let log = '';

  // One connection per node, to that node only (not a cluster client): for the test's reads.
  function node(port: number): Redis {
    let client = admin.get(port);
    if (client === undefined) {
      client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null, ...clientTLS });
      client.on('error', () => undefined);
      admin.set(port, client);
    }
    return client;
  }

  async function cli(port: number, ...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliTLS, '--no-auth-warning', '-a', password, ...args], { timeout: 2_000 });
    return stdout;
  }

  async function answers(port: number): Promise<boolean> {
    if (tls === undefined) return answersPing(port, password);
    return (await cli(port, 'ping').catch(() => '')).includes('PONG');
  }

  async function clusterOk(port: number): Promise<boolean> {
    return /^cluster_state:ok\r?$/m.test(await cli(port, 'cluster', 'info').catch(() => ''));
  }

  const everyRunningNodeOk = async (): Promise<boolean> => (await Promise.all([...children.keys()].map(clusterOk))).every(Boolean);

  // A replica can take over only once it has copied its primary.
  async function replicasSynced(): Promise<boolean> {
    const roles = await Promise.all(ports.map((port) => cli(port, 'info', 'replication').catch(() => '')));
    const synced = roles.filter((info) => /^role:slave\r?$/m.test(info) && /^master_link_status:up\r?$/m.test(info));
    return synced.length === ports.length - ports.length / (replicas + 1);
  }

  async function launch(port: number): Promise<void> {
    const child = spawn('redis-server', [
      ...listenArguments(port, tls), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
      ...(options.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(options.nodeTimeoutMs)]),
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--requirepass', password, '--masterauth', password,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(port, child);
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-6000);
      log = (log + chunk.toString('utf8')).slice(-1_000_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const failed = new Promise<never>((_resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => { reject(new Error(`redis-server on ${port} exited (${String(code)}); is the port taken?\n${output}`)); });
    });
    failed.catch(() => undefined);
    await Promise.race([waitUntil(`redis-server on port ${port}`, 10_000, () => answers(port)), failed]);
  }

  async function killNode(port: number): Promise<void> {
    const child = children.get(port);
    children.delete(port);
    admin.get(port)?.disconnect();
    admin.delete(port);
    if (child === undefined) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  async function stop(): Promise<void> {
    await Promise.all([...children.keys()].map(killNode));
    for (const client of admin.values()) client.disconnect();
    admin.clear();
    await rm(dir, { recursive: true, force: true });
  }

  try {
    for (const port of ports) {
      if (await answersPing(port) || await answersPing(port, password) || (tls !== undefined && await answers(port))) throw new Error(`something already answers on 127.0.0.1:${port}`);
    }
    await Promise.all(ports.map(launch));
    await run('redis-cli', [...cliTLS, '--no-auth-warning', '-a', password, '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
    await waitUntil('cluster_state:ok on every node', 30_000, everyRunningNodeOk);
    if (replicas > 0) await waitUntil('every replica in sync with its primary', 30_000, replicasSynced);
  } catch (error) {
    await stop();
    throw error;
  }

  // Asked of a node that runs: the test may have killed another.
  function liveNode(): Redis {
    const [port] = children.keys();
    if (port === undefined) throw new Error('no node of the cluster runs');
    return node(port);
  }

  async function keyslot(key: string): Promise<number> {
    return liveNode().cluster('KEYSLOT', key);
  }

  async function nodeOf(key: string): Promise<number> {
    const slot = await keyslot(key);
    const ranges = await liveNode().cluster('SLOTS');
    const primary = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2];
    if (primary === undefined) throw new Error(`no node serves slot ${slot}`);
    return primary[1];
  }

  // From CLUSTER NODES: CLUSTER SLOTS leaves out a replica whose replication offset is still 0.
  async function replicasOf(port: number): Promise<number[]> {
    const nodes = String(await liveNode().cluster('NODES')).split('\n').map((line) => line.split(' '));
    const portOf = (address: string | undefined): number => Number(/:(\d+)@/.exec(address ?? '')?.[1]);
    const primary = nodes.find((fields) => portOf(fields[1]) === port)?.[0];
    if (primary === undefined) throw new Error(`no node on ${port}`);
    return nodes.filter((fields) => fields[3] === primary && /(^|,)slave(,|$)/.test(fields[2] ?? '')).map((fields) => portOf(fields[1]));
  }

  const [seed] = ports;
  if (seed === undefined) throw new Error('a cluster needs ports');
  return {
    ports,
    url: `${tls === undefined ? 'redis' : 'rediss'}://:${encodeURIComponent(password)}@127.0.0.1:${seed}`,
    password,
    keyslot,
    nodeOf,
    replicasOf,
    log: () => log,
    isOk: everyRunningNodeOk,
    async get(key) {
      return node(await nodeOf(key)).get(key);
    },
    killNode,
    async restartNode(port) {
      await launch(port);
      await waitUntil('cluster_state:ok on every node', 30_000, everyRunningNodeOk);
    },
    stop,
  };
}
