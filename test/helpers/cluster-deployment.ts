// Two `gatehouse serve` instances on a Redis Cluster of a test's own
// (test/fault/redis-cluster*): started in a describe()'s `before`, stopped in its `after`
// whatever happened, the instances first. Read through methods that throw until started.
import type { Instances } from './instances.ts';
import { startInstances } from './instances.ts';
import type { ServerProcess } from './server-process.ts';
import type { ThrowawayRedisCluster } from './throwaway-redis-cluster.ts';

export class ClusterDeployment {
  #cluster: ThrowawayRedisCluster | null = null;
  #instances: Instances | null = null;

  /** Starts the cluster, then two instances seeded with its first node, with `env` on top of REDIS_CLUSTER=true. */
  async start(startCluster: () => Promise<ThrowawayRedisCluster>, env: Record<string, string>): Promise<void> {
    this.#cluster = await startCluster();
    this.#instances = await startInstances({ count: 2, redisURL: this.#cluster.url, env: { REDIS_CLUSTER: 'true', ...env } });
  }

  cluster(): ThrowawayRedisCluster {
    if (this.#cluster === null) throw new Error('the cluster is not started');
    return this.#cluster;
  }

  instances(): Instances {
    if (this.#instances === null) throw new Error('the instances are not started');
    return this.#instances;
  }

  servers(): readonly ServerProcess[] {
    return this.instances().servers;
  }

  /** Checks that no instance crashed, and stops the instances and the cluster even if one did. */
  async stop(): Promise<void> {
    try {
      for (const server of this.#instances?.servers ?? []) server.assertAlive();
    } finally {
      await this.#instances?.close();
      await this.#cluster?.stop();
    }
  }
}
