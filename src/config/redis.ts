// REDIS_URL and REDIS_CLUSTER: where the shared rate-limit counters and the cache
// invalidation channel live. With REDIS_CLUSTER=true, REDIS_URL names one node of a Redis
// Cluster (a seed: the others are discovered from it), and its scheme (rediss:// for TLS)
// and credentials apply to every node. A cluster has only database 0 and the cluster
// client reads no query parameters, so a URL that asks for either is refused rather than
// quietly half-applied.
import { parseBoolean } from './parse-values.ts';
import { parseServiceURL } from './parse-urls.ts';
import type { Reader } from './reader.ts';

export interface RedisSettings {
  readonly redisURL: string | null;
  /** REDIS_URL is a seed node of a Redis Cluster. */
  readonly redisCluster: boolean;
}

/** The rule a cluster seed URL breaks, or null. `raw` already parsed as a redis(s):// URL. */
export function clusterSeedRule(raw: string): string | null {
  const url = new URL(raw);
  if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') return 'must not name a database other than 0 with REDIS_CLUSTER=true (a Redis Cluster has only database 0)';
  if (url.search !== '' || raw.includes('?')) return 'must not carry query parameters with REDIS_CLUSTER=true (the cluster client reads only the scheme, credentials, host and port)';
  return null;
}

export function readRedis(reader: Reader): RedisSettings {
  const redisURL = reader.take('REDIS_URL', reader.secret('REDIS_URL'), (raw) => parseServiceURL(raw, ['redis', 'rediss']), null);
  const redisCluster = reader.take('REDIS_CLUSTER', reader.plain('REDIS_CLUSTER'), parseBoolean, false);
  if (redisCluster && !reader.hasProblem('REDIS_URL')) {
    const rule = redisURL === null ? null : clusterSeedRule(redisURL);
    if (redisURL === null) reader.report('REDIS_CLUSTER', 'must not be true without REDIS_URL (the address of one node of the cluster)');
    else if (rule !== null) reader.report('REDIS_URL', rule);
  }
  return { redisURL, redisCluster };
}
