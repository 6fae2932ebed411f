// The one Redis connection, set up to fail fast and to say so in the log, once.
//
// Rate limits depend on Redis when it is configured; while it is down they refuse
// (503, fail closed), and a refusal must be fast: ioredis' defaults queue a command
// while disconnected and retry it across reconnects, so every request waited 0.5–6 s.
// Here a command is refused at once while disconnected (no offline queue), is not
// carried over a reconnect, and gives up after COMMAND_TIMEOUT_MS on a Redis that
// accepts connections but does not answer (whose connection is then reopened).
// Reconnection goes on forever in the background, so service comes back by itself when
// Redis does.
//
// ioredis prints `[ioredis] Unhandled error event` on stderr for every failed reconnect
// when nothing listens for 'error': the listener below logs through the app's logger
// instead, one line when an outage starts, a reminder at most every REMINDER_MS, and one
// when it ends. Error messages are scrubbed of URL credentials, and the command's
// arguments that ioredis attaches to some errors (AUTH's password, limiter keys) are
// never logged.
//
// With REDIS_CLUSTER=true the client is a Redis Cluster client (ioredis' Cluster) seeded
// with REDIS_URL, and fails the same way: no offline queue, no command carried over a
// reconnection, the same command timeout on every node, and reconnection forever. It
// follows a slot's MOVED/ASK to its new owner, and retries a command that met a closed
// connection or CLUSTERDOWN only a few times (MAX_REDIRECTIONS, RETRY_DELAY_MS apart), so
// a refusal still comes in well under a second. (ioredis keeps an offline queue on its
// connection to each node whatever is asked; a command waiting there still gives up after
// COMMAND_TIMEOUT_MS.) Everything that takes a connection takes a `RedisClient`, either
// kind; the few things that differ (the subscriber connection, readiness, the database
// number) are decided here.
import type { EventEmitter } from 'node:events';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Clock } from './clock.ts';
import type { Logger } from './logging.ts';

/** A command against a silent Redis is abandoned after this; Redis answers in well under 1 ms. */
export const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * A connection that has answered nothing for this long while commands wait is dropped and
 * opened again: a half-open connection (a partition, a replaced host) would otherwise
 * stay up until TCP gives up on it, about 15 minutes later.
 */
const SOCKET_TIMEOUT_MS = 2_000;
/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/** While an outage lasts, how often the log is reminded of it. */
const REMINDER_MS = 60_000;

export interface RedisFailure {
  readonly name: string;
  /** The system or Redis error code, e.g. ECONNREFUSED (not `code`: the log redacts that key). */
  readonly errorCode?: string;
  readonly message: string;
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi;

/** What may be logged of an error from ioredis: its name, code and scrubbed message, nothing else. */
export function describeRedisFailure(error: unknown): RedisFailure {
  if (!(error instanceof Error)) return { name: 'Error', message: 'unknown Redis failure' };
  const code = (error as { code?: unknown }).code;
  const message = error.message.replace(URL_CREDENTIALS, '$1[redacted]@').slice(0, 300);
  return typeof code === 'string' ? { name: error.name, errorCode: code, message } : { name: error.name, message };
}

/** A connection to Redis: one node, or a Redis Cluster (REDIS_CLUSTER=true). */
export type RedisClient = Redis | Cluster;

/** How many times a cluster command is sent at most: redirections and retries together. */
const MAX_REDIRECTIONS = 5;
/** Pause before a cluster command is retried after a closed connection, CLUSTERDOWN or TRYAGAIN. */
const RETRY_DELAY_MS = 100;
/** How often a cluster client asks which node serves which slot, besides after MOVED. */
const SLOTS_REFRESH_INTERVAL_MS = 5_000;

const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);

/** The fail-fast behaviour of every connection, to one node or to each node of a cluster. */
const FAIL_FAST = {
  enableOfflineQueue: false,
  // In-flight commands fail when the connection drops instead of waiting for a reconnect.
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: COMMAND_TIMEOUT_MS,
  socketTimeout: SOCKET_TIMEOUT_MS,
  connectTimeout: CONNECT_TIMEOUT_MS,
} as const satisfies RedisOptions;

export interface OpenRedisOptions {
  /** `url` is a seed node of a Redis Cluster (REDIS_CLUSTER). */
  readonly cluster?: boolean;
}

// A cluster client's seed URL, for the subscriber connection (`openSubscriber`).
const clusterSeeds = new WeakMap<Cluster, string>();

export function openRedis(url: string, deps: { log: Logger; clock: Clock }, options: OpenRedisOptions = {}): RedisClient {
  const redis = options.cluster === true ? openCluster(url) : new Redis(url, { lazyConnect: false, ...FAIL_FAST, retryStrategy: reconnectDelay });
  watchRedis(redis, deps);
  return redis;
}

/**
 * The seed node and what every node is opened with, from a redis:// or rediss:// URL
 * (config/redis.ts refuses a database other than 0 and query parameters with a cluster).
 * The credentials and TLS of the URL apply to every node the cluster announces.
 */
export function clusterSeed(url: string): { readonly host: string; readonly port: number; readonly nodeOptions: Pick<RedisOptions, 'username' | 'password' | 'tls'> } {
  const parsed = new URL(url);
  const nodeOptions: Pick<RedisOptions, 'username' | 'password' | 'tls'> = {
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 6379 : Number(parsed.port), nodeOptions };
}

function openCluster(url: string): Cluster {
  const seed = clusterSeed(url);
  const options: ClusterOptions = {
    lazyConnect: false,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    clusterRetryStrategy: reconnectDelay,
    maxRedirections: MAX_REDIRECTIONS,
    retryDelayOnFailover: RETRY_DELAY_MS,
    retryDelayOnClusterDown: RETRY_DELAY_MS,
    retryDelayOnTryAgain: RETRY_DELAY_MS,
    slotsRefreshTimeout: COMMAND_TIMEOUT_MS * 2,
    slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    // The seed's host name is kept, not resolved to an address first: TLS verifies the
    // certificate against the name (ioredis' default looks it up and connects by address).
    dnsLookup: (address, callback) => { callback(null, address); },
    redisOptions: { ...FAIL_FAST, ...seed.nodeOptions },
  };
  const cluster = new Cluster([{ host: seed.host, port: seed.port }], options);
  clusterSeeds.set(cluster, url);
  return cluster;
}

/**
 * A connection of its own for SUBSCRIBE (a subscribed connection can send no other
 * command), not resubscribing by itself and with no offline queue: the caller subscribes
 * on every 'ready'. For a cluster, a single-node connection to the seed node: PUBLISH in
 * a Redis Cluster reaches the subscribers of every node, and a plain connection says
 * 'ready' each time its subscription must be made again (ioredis' cluster subscriber
 * moves between nodes without a word, so missed messages could not be told).
 */
export function openSubscriber(redis: RedisClient): Redis {
  const overrides = { autoResubscribe: false, enableOfflineQueue: false } as const;
  if (!isRedisCluster(redis)) return redis.duplicate(overrides);
  const seed = clusterSeeds.get(redis);
  if (seed === undefined) throw new TypeError('a cluster client opened elsewhere than openRedis has no known seed');
  return new Redis(seed, { lazyConnect: false, ...FAIL_FAST, retryStrategy: reconnectDelay, ...overrides });
}

/** Whether the client is a Redis Cluster client (REDIS_CLUSTER), not a single node's. */
export function isRedisCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** The database number the client works in: a cluster has only 0. */
export function redisDatabase(redis: RedisClient): number {
  return isRedisCluster(redis) ? 0 : redis.options.db ?? 0;
}

/**
 * Resolves when Redis can count, rejects when it cannot. A single node answers PING. A
 * cluster must say `cluster_state:ok` (every slot assigned and served), and the primary
 * of every slot, as this client routes them, must be connected and answer PING: a stopped
 * node's slots fail at once, while the cluster itself notices only after its
 * cluster-node-timeout (15 s by default).
 */
export async function checkRedis(redis: RedisClient): Promise<void> {
  if (!isRedisCluster(redis)) {
    await redis.ping();
    return;
  }
  const info = await redis.cluster('INFO');
  if (!/^cluster_state:ok\r?$/m.test(info)) throw new Error('the Redis Cluster is not in state ok (a slot is not served)');
  const owners = new Set(redis.slots.map((nodes) => nodes[0]).filter((node) => node !== undefined));
  if (owners.size === 0) throw new Error('no slot of the Redis Cluster is known yet');
  const connected = new Map(redis.nodes('master').map((node) => [`${node.options.host ?? ''}:${String(node.options.port)}`, node]));
  await Promise.all([...owners].map(async (owner) => {
    const node = connected.get(owner);
    // A node whose connection ended (a stopped node) leaves the pool until the next refresh.
    if (node === undefined) throw new Error(`the Redis Cluster node ${owner} serving some slots is not connected`);
    await node.ping();
  }));
}

export interface WatchOptions {
  /** The log's `component`; `redis` (the connection rate limits count on) by default. */
  readonly component?: string;
  /** What an outage of this connection means, for the first log line. */
  readonly consequence?: string;
}

/**
 * Logs a Redis client's connection state through `log`, and keeps ioredis from writing
 * to stderr. Attach it to every client, including any duplicate or subscriber.
 */
export function watchRedis(redis: EventEmitter, deps: { log: Logger; clock: Clock }, options: WatchOptions = {}): void {
  const log = deps.log.child({ component: options.component ?? 'redis' });
  const consequence = options.consequence ?? 'rate-limited routes answer 503 until it is back';
  const now = (): number => deps.clock().getTime();
  let connectedOnce = false;
  let outage: { since: number; lastLoggedAt: number; suppressed: number; errorLogged: boolean } | null = null;

  const startOutage = (): NonNullable<typeof outage> => {
    outage ??= { since: now(), lastLoggedAt: now(), suppressed: 0, errorLogged: false };
    return outage;
  };

  redis.on('error', (error: unknown) => {
    const current = startOutage();
    const failure = describeRedisFailure(error);
    if (!current.errorLogged) {
      current.errorLogged = true;
      current.lastLoggedAt = now();
      log.error({ failure }, `redis unavailable: ${consequence}`);
    } else if (now() - current.lastLoggedAt >= REMINDER_MS) {
      log.error({ failure, outage_ms: now() - current.since, suppressed: current.suppressed }, 'redis still unavailable');
      current.lastLoggedAt = now();
      current.suppressed = 0;
    } else {
      current.suppressed += 1;
    }
  });
  // A cluster client reports a node it cannot reach as 'node error' while the others may
  // still serve their slots (rate limits keyed to that node's slots answer 503): one line,
  // then at most one reminder every REMINDER_MS. The node is named by host:port only.
  const nodeErrors = { lastLoggedAt: Number.NEGATIVE_INFINITY, suppressed: 0 };
  redis.on('node error', (error: unknown, node: unknown) => {
    if (now() - nodeErrors.lastLoggedAt < REMINDER_MS) {
      nodeErrors.suppressed += 1;
      return;
    }
    log.error({ failure: describeRedisFailure(error), node: typeof node === 'string' ? node.slice(0, 300) : 'unknown', suppressed: nodeErrors.suppressed }, 'redis cluster node unavailable: rate limits counted on it answer 503 until it or a replica serves its slots');
    nodeErrors.lastLoggedAt = now();
    nodeErrors.suppressed = 0;
  });
  // Not 'close': that one also fires on the deliberate disconnect at shutdown.
  redis.on('reconnecting', () => {
    if (outage !== null || !connectedOnce) return;
    startOutage();
    log.warn('redis connection lost: reconnecting');
  });
  redis.on('ready', () => {
    if (outage !== null) {
      log.info({ outage_ms: now() - outage.since, suppressed: outage.suppressed }, 'redis connection restored');
      outage = null;
    } else if (!connectedOnce) {
      log.info('redis connected');
    }
    connectedOnce = true;
  });
}

/**
 * True once `redis` is connected, false if it is not within `timeoutMs`. For one-shot
 * commands, whose first command would otherwise fail: there is no offline queue.
 */
export function whenRedisReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const ready = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', ready);
      resolve(false);
    }, timeoutMs);
    redis.once('ready', ready);
  });
}
