// Cache invalidation between instances: what a message may say, and what an instance does
// with one. The pub/sub tests run on the real Redis (REDIS_URL_TEST), each on a channel of
// its own (pub/sub ignores the database number, so parallel tests would otherwise hear
// each other), and the outage tests on a throwaway redis-server.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { captureLines } from '../../test/helpers/app.ts';
import { startThrowawayRedis } from '../../test/helpers/throwaway-redis.ts';
import {
  channelFor,
  createCacheBroadcast,
  encodeInvalidationMessages,
  INVALIDATION_CHANNEL,
  MAX_MESSAGE_BYTES,
  MAX_TAGS_PER_MESSAGE,
  parseInvalidationMessage,
  type CacheBroadcast,
  type Subscription,
} from './cache-broadcast.ts';
import { createCacheInvalidation, createTtlCache, type TtlCache } from './cache.ts';
import { systemClock } from './clock.ts';
import { redisTestURL } from './limits/limits.fixtures.ts';
import { createLogger } from './logging.ts';
import { openRedis, type RedisClient } from './redis.ts';

const user = (): string => `user:${randomUUID()}`;
const session = (): string => `session:${randomUUID()}`;

async function eventually(what: string, check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('cache invalidation messages', () => {
  it('a message the publisher writes parses back to its origin and tags', () => {
    const origin = randomUUID();
    const tags = [user(), session(), 'roles', 'incident', 'signing_keys'];
    const [message, ...rest] = encodeInvalidationMessages(origin, tags);
    assert.deepEqual(rest, []);
    assert.deepEqual(parseInvalidationMessage(message ?? ''), { origin, tags });
  });

  it('only the known tag shapes are published, once each, at most MAX_TAGS_PER_MESSAGE a message', () => {
    const origin = randomUUID();
    const tags = Array.from({ length: 250 }, session);
    const messages = encodeInvalidationMessages(origin, [...tags, tags[0] ?? '', 'system:backup', 'user:not-a-uuid', 'role:support']);
    assert.equal(messages.length, 3);
    const parsed = messages.map((raw) => parseInvalidationMessage(raw));
    assert.deepEqual(parsed.flatMap((message) => message?.tags ?? ['unparsed']), tags);
    for (const raw of messages) assert.ok(Buffer.byteLength(raw) <= MAX_MESSAGE_BYTES);
    assert.deepEqual(encodeInvalidationMessages(origin, ['system:x']), [], 'nothing to say: no message');
  });

  it('a malformed message is refused whole: bad JSON, other shapes, extra fields, unknown tags, too many, too big', () => {
    const origin = randomUUID();
    const ok = { origin, tags: [user()] };
    const refused: unknown[] = [
      'not json',
      '',
      'null',
      '[]',
      JSON.stringify([ok]),
      JSON.stringify({ ...ok, extra: true }),
      JSON.stringify({ tags: ok.tags }),
      JSON.stringify({ ...ok, origin: 'someone' }),
      JSON.stringify({ ...ok, origin: origin.toUpperCase() }),
      JSON.stringify({ ...ok, tags: [] }),
      JSON.stringify({ ...ok, tags: 'roles' }),
      JSON.stringify({ ...ok, tags: [user(), 'user:*'] }),
      JSON.stringify({ ...ok, tags: [user(), '*'] }),
      JSON.stringify({ ...ok, tags: [`${user()} `] }),
      JSON.stringify({ ...ok, tags: ['roles', 42] }),
      JSON.stringify({ ...ok, tags: [`user:${randomUUID()}\nroles`] }),
      JSON.stringify({ ...ok, tags: Array.from({ length: MAX_TAGS_PER_MESSAGE + 1 }, user) }),
      JSON.stringify({ ...ok, tags: ['roles'], padding: 'x'.repeat(MAX_MESSAGE_BYTES) }),
      `{"origin":"${origin}","tags":["roles"]${' '.repeat(MAX_MESSAGE_BYTES)}}`,
      '{"__proto__":{"polluted":true},"origin":"x","tags":["roles"]}',
    ];
    for (const raw of refused) assert.equal(parseInvalidationMessage(String(raw)), null, String(raw).slice(0, 120));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('random input never throws and never yields a tag of an unknown shape', () => {
    const tag = fc.oneof(fc.string(), fc.constantFrom('roles', 'signing_keys', 'user:', 'session:'), fc.uuid().map((id) => `user:${id}`));
    const message = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json(),
      fc.record({ origin: fc.oneof(fc.uuid(), fc.string()), tags: fc.array(tag, { maxLength: 5 }) }).map((value) => JSON.stringify(value)),
    );
    fc.assert(fc.property(message, (raw) => {
      const parsed = parseInvalidationMessage(raw);
      if (parsed === null) return;
      for (const parsedTag of parsed.tags) assert.match(parsedTag, /^(?:(?:user|session):[0-9a-f-]{36}|roles|incident|signing_keys)$/);
    }), { numRuns: 2_000 });
  });

  it('the channel carries the scope it is given', () => {
    assert.equal(channelFor(), INVALIDATION_CHANNEL);
    assert.equal(channelFor('15'), `${INVALIDATION_CHANNEL}:15`);
  });
});

/** An instance as the broadcast sees it: its caches, the log, and the events it reported. */
interface Instance {
  readonly broadcast: CacheBroadcast;
  readonly cache: TtlCache<string>;
  readonly cleared: { count: number };
  readonly invalidated: string[];
  readonly events: { published: number; failed: number; applied: number; rejected: number; resyncs: number };
  readonly logs: string[];
  readonly subscription: Subscription;
}

function instance(redis: RedisClient, channel: string): Instance {
  const invalidation = createCacheInvalidation();
  const cache = createTtlCache<string>({ clock: systemClock, ttlMs: 60_000, maxEntries: 100 });
  const invalidated: string[] = [];
  const cleared = { count: 0 };
  invalidation.register(cache);
  invalidation.register({ invalidate: (tag) => { invalidated.push(tag); }, clear: () => { cleared.count += 1; } });
  const events = { published: 0, failed: 0, applied: 0, rejected: 0, resyncs: 0 };
  const logs: string[] = [];
  const broadcast = createCacheBroadcast({
    redis,
    invalidation,
    log: createLogger({ level: 'info', destination: captureLines(logs) }),
    clock: systemClock,
    channel,
    events: {
      onPublished: (count) => { events.published += count; },
      onPublishFailed: () => { events.failed += 1; },
      onReceived: (outcome) => { events[outcome] += 1; },
      onResync: () => { events.resyncs += 1; },
    },
  });
  return { broadcast, cache, cleared, invalidated, events, logs, subscription: broadcast.subscribe() };
}

const testURL = redisTestURL();

describe('cache invalidation over Redis pub/sub', { skip: testURL === null ? 'REDIS_URL_TEST is not set' : false }, () => {
  const log = createLogger({ level: 'silent' });
  const opened: { close(): Promise<void> | void }[] = [];
  function open(): RedisClient {
    const redis = openRedis(testURL ?? '', { log, clock: systemClock });
    opened.push({ close: () => { redis.disconnect(); } });
    return redis;
  }
  function start(redis: RedisClient, channel: string): Instance {
    const started = instance(redis, channel);
    opened.push(started.subscription);
    return started;
  }
  after(async () => {
    for (const resource of opened.reverse()) await resource.close();
  });
  const uniqueChannel = (): string => channelFor(`test-${randomBytes(8).toString('hex')}`);

  it('another instance drops the tags a change announced; the publisher skips its own message', async () => {
    const channel = uniqueChannel();
    const [one, two] = [start(open(), channel), start(open(), channel)];
    await eventually('both subscribed', () => one.events.resyncs === 1 && two.events.resyncs === 1);
    const [named, other] = [user(), user()];
    for (const { cache } of [one, two]) {
      cache.set('profile', 'old', 60_000, [named]);
      cache.set('kept', 'value', 60_000, [other]);
    }
    one.broadcast.announce([named, 'system:ignored']);
    await eventually('the other instance applied it', () => two.events.applied === 1);
    assert.equal(two.cache.get('profile'), undefined);
    assert.equal(two.cache.get('kept'), 'value', 'only the named tag is dropped');
    assert.deepEqual(two.invalidated, [named]);
    assert.equal(one.events.published, 1);
    // Its own message came back to the publisher too; a later one from the other instance
    // shows the first had arrived, and was skipped.
    two.broadcast.announce([other]);
    await eventually('the publisher heard the other', () => one.events.applied === 1);
    assert.deepEqual(one.invalidated, [other], 'the publisher did not apply its own message');
    assert.equal(one.cache.get('profile'), 'old', 'the local invalidation is core/change.ts\'s, not the echo\'s');
  });

  it('a malformed message is counted and dropped, clears nothing, and the next good one is applied', async () => {
    const channel = uniqueChannel();
    const listener = start(open(), channel);
    const raw = open();
    await eventually('subscribed', () => listener.events.resyncs === 1);
    const tag = user();
    listener.cache.set('entry', 'value', 60_000, [tag, 'roles']);
    const origin = randomUUID();
    for (const message of ['{', JSON.stringify({ origin, tags: ['*'] }), JSON.stringify({ origin, tags: [tag, 'user:*'] }), 'x'.repeat(MAX_MESSAGE_BYTES + 1)]) {
      await raw.publish(channel, message);
    }
    await eventually('every malformed message was seen', () => listener.events.rejected === 4);
    assert.equal(listener.cache.get('entry'), 'value');
    assert.deepEqual(listener.invalidated, []);
    assert.equal(listener.cleared.count, 1, 'only the clear at subscription');
    assert.ok(listener.logs.some((line) => line.includes('malformed cache invalidation message ignored')));
    await raw.publish(channel, JSON.stringify({ origin, tags: [tag] }));
    await eventually('the good one was applied', () => listener.events.applied === 1);
    assert.equal(listener.cache.get('entry'), undefined);
  });

  it('a message on another channel is not heard', async () => {
    const listener = start(open(), uniqueChannel());
    const elsewhere = start(open(), uniqueChannel());
    await eventually('subscribed', () => listener.events.resyncs === 1 && elsewhere.events.resyncs === 1);
    elsewhere.broadcast.announce(['roles']);
    await eventually('published', () => elsewhere.events.published === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(listener.invalidated, []);
  });
});

describe('cache invalidation while Redis is down', { timeout: 30_000 }, () => {
  it('a failed publish is counted and logged, never thrown; a resubscribed instance clears its caches', async () => {
    const server = await startThrowawayRedis();
    const log = createLogger({ level: 'silent' });
    const redis = openRedis(server.url, { log, clock: systemClock });
    const publisherRedis = openRedis(server.url, { log, clock: systemClock });
    const channel = channelFor('outage');
    const listener = instance(redis, channel);
    const publisher = instance(publisherRedis, channel);
    try {
      await eventually('subscribed', () => listener.events.resyncs === 1 && publisher.events.resyncs === 1);
      await server.kill();
      await eventually('the publisher saw the outage', () => publisherRedis.status !== 'ready');
      // The change committed: announce must neither throw nor wait.
      assert.doesNotThrow(() => { publisher.broadcast.announce([user()]); });
      await eventually('the failure was counted', () => publisher.events.failed === 1);
      assert.ok(publisher.logs.some((line) => line.includes('cache invalidation not published')));
      listener.cache.set('loaded during the outage', 'maybe stale', 60_000, [user()]);
      await server.restart();
      // Messages sent meanwhile are lost: the listener clears everything once subscribed again.
      await eventually('resubscribed', () => listener.events.resyncs === 2, 10_000);
      assert.equal(listener.cache.get('loaded during the outage'), undefined);
      const tag = user();
      listener.cache.set('after', 'value', 60_000, [tag]);
      await eventually('the publisher reconnected', () => publisherRedis.status === 'ready' && publisher.events.resyncs === 2, 10_000);
      publisher.broadcast.announce([tag]);
      await eventually('applied after the outage', () => listener.events.applied === 1);
      assert.equal(listener.cache.get('after'), undefined);
    } finally {
      await listener.subscription.close();
      await publisher.subscription.close();
      redis.disconnect();
      publisherRedis.disconnect();
      await server.stop();
    }
  });
});
