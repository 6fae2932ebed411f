// Cache invalidation between instances, over Redis pub/sub.
//
// Every instance caches what it reads on each request (live sessions, permissions,
// profiles, the second-factor requirement) for at most one second. A committed change
// drops the entries it made stale on the instance that made it (core/change.ts); the
// others used to keep serving theirs until the TTL ran out. With Redis configured, the
// change's tags are also published on one channel, and every instance drops the same
// tags when the message arrives: revocation (logout, disable, role removal, sign-out
// everywhere) is seen everywhere within milliseconds.
//
// The TTL stays the bound that always holds. Pub/sub delivers at most once: a message
// published while Redis is down, or while an instance is not subscribed, is lost. So:
// - publishing never fails the change (it committed already): a failure is logged and
//   counted, and the other instances converge when their entries expire;
// - an instance whose subscription (re)starts clears every cache it guards, since it may
//   have missed messages while it was not listening (see `subscribe`).
//
// Redis is a shared system, so a message is input like any other: bounded in size and in
// tag count, parsed without throwing, and only tags of the known shapes (`user:<uuid>`,
// `session:<uuid>`, `roles`, `incident`, `signing_keys`) are applied. A malformed message is counted and dropped; it
// can never clear more than the tags it names.
//
// The channel is not scoped by Redis' database number (pub/sub ignores it): deployments
// sharing one Redis server need different channels (`channelFor`).
import { randomUUID } from 'node:crypto';
import type { CacheInvalidation } from './cache.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logging.ts';
import { describeRedisFailure, openSubscriber, watchRedis, type RedisClient } from './redis.ts';

export const INVALIDATION_CHANNEL = 'gatehouse:invalidate';
/** The largest message accepted; a full one of the publisher is about 4.5 kB. */
export const MAX_MESSAGE_BYTES = 8_192;
/** The most tags in one message; a change that names more is published in several. */
export const MAX_TAGS_PER_MESSAGE = 100;
/** While publishing keeps failing, how often the log is reminded of it. */
const FAILURE_REMINDER_MS = 60_000;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const BROADCAST_TAG = new RegExp(`^(?:(?:user|session):${UUID}|roles|incident|signing_keys)$`);
const INSTANCE_ID = new RegExp(`^${UUID}$`);

export interface InvalidationMessage {
  /** The publishing instance, which skips its own messages (it invalidated already). */
  readonly origin: string;
  readonly tags: readonly string[];
}

/** The tags other instances can act on: the shapes the caches are tagged with. */
export function isBroadcastTag(tag: string): boolean {
  return BROADCAST_TAG.test(tag);
}

/** The messages announcing `tags`: known shapes only, at most MAX_TAGS_PER_MESSAGE each. */
export function encodeInvalidationMessages(origin: string, tags: readonly string[]): string[] {
  const known = [...new Set(tags)].filter(isBroadcastTag);
  const messages: string[] = [];
  for (let start = 0; start < known.length; start += MAX_TAGS_PER_MESSAGE) {
    messages.push(JSON.stringify({ origin, tags: known.slice(start, start + MAX_TAGS_PER_MESSAGE) }));
  }
  return messages;
}

/** The message, or null for anything that is not exactly one the publisher writes. */
export function parseInvalidationMessage(raw: string): InvalidationMessage | null {
  if (raw.length > MAX_MESSAGE_BYTES) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || !keys.includes('origin') || !keys.includes('tags')) return null;
  const { origin, tags } = parsed as { origin: unknown; tags: unknown };
  if (typeof origin !== 'string' || !INSTANCE_ID.test(origin)) return null;
  if (!Array.isArray(tags) || tags.length === 0 || tags.length > MAX_TAGS_PER_MESSAGE) return null;
  // All or nothing: one unknown tag makes the whole message suspect.
  if (!tags.every((tag): tag is string => typeof tag === 'string' && isBroadcastTag(tag))) return null;
  return { origin, tags };
}

/** The channel of a deployment; `scope` tells apart deployments that share a Redis server. */
export function channelFor(scope?: string): string {
  return scope === undefined || scope === '' ? INVALIDATION_CHANNEL : `${INVALIDATION_CHANNEL}:${scope}`;
}

/** What the broadcast reports, for the metrics. Every label is a fixed word. */
export interface CacheBroadcastEvents {
  onPublished?(messages: number): void;
  onPublishFailed?(): void;
  /** A message from another instance: applied, or rejected as malformed. */
  onReceived?(outcome: 'applied' | 'rejected'): void;
  /** The subscription (re)started and every cache was cleared. */
  onResync?(): void;
}

export interface CacheBroadcastOptions {
  readonly redis: RedisClient;
  readonly invalidation: CacheInvalidation;
  readonly log: Logger;
  readonly clock: Clock;
  /** INVALIDATION_CHANNEL by default; tests use one of their own. */
  readonly channel?: string;
  /** A new random id by default. */
  readonly instanceId?: string;
  readonly events?: CacheBroadcastEvents;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface CacheBroadcast {
  readonly instanceId: string;
  readonly channel: string;
  /** After a commit: tells the other instances. Never throws, never waits. */
  announce(tags: readonly string[]): void;
  /**
   * Waits for the announcements in flight, then counts the messages published and failed
   * since this broadcast was made. A one-shot command calls it before it closes Redis,
   * which would drop them unsent.
   */
  settled(): Promise<{ readonly published: number; readonly failed: number }>;
  /**
   * Listens to the other instances on a connection of its own (a subscriber can send no
   * other command) until close(). Only a serving instance listens; CLI commands announce.
   */
  subscribe(): Subscription;
}

export function createCacheBroadcast(options: CacheBroadcastOptions): CacheBroadcast {
  const { redis, invalidation, clock, events = {} } = options;
  const log = options.log.child({ component: 'cache-broadcast' });
  const channel = options.channel ?? INVALIDATION_CHANNEL;
  const instanceId = options.instanceId ?? randomUUID();
  let failures = { lastLoggedAt: Number.NEGATIVE_INFINITY, suppressed: 0 };

  function publishFailed(error: unknown): void {
    events.onPublishFailed?.();
    const now = clock().getTime();
    if (now - failures.lastLoggedAt < FAILURE_REMINDER_MS) {
      failures.suppressed += 1;
      return;
    }
    log.warn({ failure: describeRedisFailure(error), suppressed: failures.suppressed }, 'cache invalidation not published: other instances converge within the cache TTL');
    failures = { lastLoggedAt: now, suppressed: 0 };
  }

  const inFlight = new Set<Promise<void>>();
  const totals = { published: 0, failed: 0 };

  function announce(tags: readonly string[]): void {
    for (const message of encodeInvalidationMessages(instanceId, tags)) {
      // Not awaited: the caller's change committed, and its answer must not wait on Redis
      // (a frozen Redis would hold it for the command timeout).
      const publishing = redis.publish(channel, message).then(
        () => { totals.published += 1; events.onPublished?.(1); },
        (error: unknown) => { totals.failed += 1; publishFailed(error); },
      );
      inFlight.add(publishing);
      void publishing.finally(() => inFlight.delete(publishing));
    }
  }

  async function settled(): Promise<{ published: number; failed: number }> {
    await Promise.all([...inFlight]);
    return { ...totals };
  }

  function receive(raw: string): void {
    const message = parseInvalidationMessage(raw);
    if (message === null) {
      events.onReceived?.('rejected');
      log.warn({ bytes: raw.length }, 'malformed cache invalidation message ignored');
      return;
    }
    if (message.origin === instanceId) return;
    for (const tag of message.tags) invalidation.invalidate(tag);
    events.onReceived?.('applied');
  }

  function subscribe(): Subscription {
    // Subscribed by hand on every 'ready' (not ioredis' autoResubscribe), so the caches are
    // cleared exactly when a subscription is in place again.
    const subscriber = openSubscriber(redis);
    watchRedis(subscriber, { log: options.log, clock }, { component: 'redis-subscriber', consequence: 'other instances\' cache invalidations are missed; cached entries expire within their TTL' });
    let closed = false;
    subscriber.on('message', (from: string, raw: string) => {
      if (from === channel) receive(raw);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => {
          // Messages published while this instance was not subscribed (Redis down, the
          // connection lost, the instance starting) are gone for good: whatever the caches
          // hold may predate a revocation announced meanwhile. Cleared once the
          // subscription is in place, so nothing missed can survive it; a load in flight
          // does not store its answer either (core/cache.ts).
          invalidation.clear();
          events.onResync?.();
        },
        (error: unknown) => {
          if (closed) return;
          log.warn({ failure: describeRedisFailure(error) }, 'cache invalidation subscribe failed: reconnecting');
          // A fresh connection subscribes again on its 'ready'.
          subscriber.disconnect(true);
        },
      );
    });
    return {
      async close() {
        closed = true;
        subscriber.disconnect();
      },
    };
  }

  return { instanceId, channel, announce, settled, subscribe };
}
