// A Redis Cluster of a test's own: three primaries (no replicas) on 127.0.0.1, ports
// 7101–7103, never the shared Redis. Each node is a foreground redis-server child of the
// test process, persisting nothing but the cluster's own nodes-<port>.conf in a temporary
// directory, so a stopped node started again rejoins with its slots. stop() kills every
// node and removes the directory; call it in an `after` hook, it is safe to call twice.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { answersPing } from './throwaway-redis.ts';

const run = promisify(execFile);

export const CLUSTER_PORTS = [7101, 7102, 7103] as const;

export interface ThrowawayRedisCluster {
  readonly ports: readonly number[];
  /** redis:// URL of the first node (the seed), with the password. */
  readonly url: string;
  readonly password: string;
  /** The slot of `key`, as the cluster computes it (CLUSTER KEYSLOT). */
  keyslot(key: string): Promise<number>;
  /** The port of the node serving `key`'s slot. */
  nodeOf(key: string): Promise<number>;
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

export async function startThrowawayRedisCluster(options: { readonly password: string }): Promise<ThrowawayRedisCluster> {
  const { password } = options;
  const dir = await mkdtemp(join(tmpdir(), 'gh-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const admin = new Map<number, Redis>();
  let output = '';

  // One connection per node, to that node only (not a cluster client): for the test's reads.
  function node(port: number): Redis {
    let client = admin.get(port);
    if (client === undefined) {
      client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
      client.on('error', () => undefined);
      admin.set(port, client);
    }
    return client;
  }

  async function clusterOk(port: number): Promise<boolean> {
    try {
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, 'cluster', 'info'], { timeout: 2_000 });
      return /^cluster_state:ok\r?$/m.test(stdout);
    } catch {
      return false;
    }
  }

  async function launch(port: number): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--requirepass', password, '--masterauth', password,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(port, child);
    const keep = (chunk: Buffer): void => { output = (output + chunk.toString('utf8')).slice(-6000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const failed = new Promise<never>((_resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => { reject(new Error(`redis-server on ${port} exited (${String(code)}); is the port taken?\n${output}`)); });
    });
    failed.catch(() => undefined);
    await Promise.race([waitUntil(`redis-server on port ${port}`, 10_000, () => answersPing(port, password)), failed]);
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
    for (const port of CLUSTER_PORTS) {
      if (await answersPing(port) || await answersPing(port, password)) throw new Error(`something already answers on 127.0.0.1:${port}`);
    }
    await Promise.all(CLUSTER_PORTS.map(launch));
    await run('redis-cli', ['--no-auth-warning', '-a', password, '--cluster', 'create', ...CLUSTER_PORTS.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await waitUntil('cluster_state:ok on every node', 30_000, async () => (await Promise.all(CLUSTER_PORTS.map(clusterOk))).every(Boolean));
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

  return {
    ports: CLUSTER_PORTS,
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${CLUSTER_PORTS[0]}`,
    password,
    keyslot,
    nodeOf,
    async get(key) {
      return node(await nodeOf(key)).get(key);
    },
    killNode,
    async restartNode(port) {
      await launch(port);
      await waitUntil('cluster_state:ok on every node', 30_000, async () => (await Promise.all(CLUSTER_PORTS.map(clusterOk))).every(Boolean));
    },
    stop,
  };
}
