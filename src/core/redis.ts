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
import type { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
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

export function openRedis(url: string, deps: { log: Logger; clock: Clock }): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    // In-flight commands fail when the connection drops instead of waiting for a reconnect.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  watchRedis(redis, deps);
  return redis;
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
export function whenRedisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
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
