// The Redis connection's failure behaviour: refusals are immediate, an outage is logged
// once (not once per reconnection attempt), and nothing secret reaches the log.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { captureLines } from '../../test/helpers/app.ts';
import { freePort } from '../../test/helpers/server-process.ts';
import { manualClock } from './limits/limits.fixtures.ts';
import { createLogger } from './logging.ts';
import { Cluster, Redis } from 'ioredis';
import { clusterSeed, describeRedisFailure, openRedis, openSubscriber, redisDatabase, watchRedis } from './redis.ts';

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
}

function watched(): { client: EventEmitter; lines: () => Promise<Record<string, unknown>[]>; advance: (ms: number) => void } {
  const raw: string[] = [];
  const time = manualClock();
  const client = new EventEmitter();
  watchRedis(client, { log: createLogger({ level: 'info', destination: captureLines(raw) }), clock: time.clock });
  return {
    client,
    // The capturing stream may take a turn of the event loop to see a line.
    async lines() {
      await new Promise((resolve) => setImmediate(resolve));
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    advance: (ms) => { time.advance(ms); },
  };
}

describe('redis connection', () => {
  it('an outage of many failed reconnects is logged once, reminded each minute, and its end once', async () => {
    const { client, lines: read, advance } = watched();
    client.emit('ready');
    client.emit('reconnecting');
    for (let attempt = 0; attempt < 500; attempt += 1) {
      client.emit('error', refused());
      client.emit('reconnecting');
      advance(100);
    }
    advance(20_000);
    client.emit('error', refused());
    client.emit('ready');
    const lines = await read();
    assert.deepEqual(
      lines.map((line) => [line['level'], line['msg']]),
      [
        ['info', 'redis connected'],
        ['warn', 'redis connection lost: reconnecting'],
        ['error', 'redis unavailable: rate-limited routes answer 503 until it is back'],
        ['error', 'redis still unavailable'],
        ['info', 'redis connection restored'],
      ],
    );
    assert.ok(lines.every((line) => line['component'] === 'redis'));
    assert.equal((lines[2]!['failure'] as Record<string, unknown>)['errorCode'], 'ECONNREFUSED');
    assert.equal(lines.at(-1)!['outage_ms'], 70_000);
  });

  it('a failure is logged without URL credentials and without the command arguments ioredis attaches', async () => {
    const { client, lines } = watched();
    const error = Object.assign(new Error('WRONGPASS for redis://admin:hunter2-secret@cache.example.test:6380'), {
      command: { name: 'auth', args: ['hunter2-secret'] },
    });
    client.emit('error', error);
    const text = JSON.stringify(await lines());
    assert.doesNotMatch(text, /hunter2-secret/);
    assert.match(text, /redis:\/\/\[redacted\]@cache\.example\.test:6380/);
    assert.deepEqual(Object.keys(describeRedisFailure(error)).sort(), ['message', 'name']);
  });

  it('a command against an unreachable Redis is refused at once, not after retries', async () => {
    const raw: string[] = [];
    const redis = openRedis(`redis://127.0.0.1:${await freePort()}`, { log: createLogger({ level: 'info', destination: captureLines(raw) }), clock: () => new Date() });
    try {
      for (let i = 0; i < 3; i += 1) {
        const started = performance.now();
        await assert.rejects(redis.ping());
        const ms = performance.now() - started;
        assert.ok(ms < 100, `refused after ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      redis.disconnect();
    }
  });

  it('a cluster node that cannot be reached is logged by host:port once a minute, never with credentials', async () => {
    const { client, lines, advance } = watched();
    for (let attempt = 0; attempt < 50; attempt += 1) {
      client.emit('node error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7102 (redis://:hunter2-secret@127.0.0.1:7102)'), { code: 'ECONNREFUSED' }), '127.0.0.1:7102');
      advance(100);
    }
    advance(60_000);
    client.emit('node error', refused(), '127.0.0.1:7102');
    const logged = await lines();
    assert.equal(logged.length, 2);
    assert.equal(logged[0]?.['node'], '127.0.0.1:7102');
    assert.equal(logged[1]?.['suppressed'], 49);
    assert.doesNotMatch(JSON.stringify(logged), /hunter2-secret/);
  });

  it('a cluster seed URL gives its credentials and TLS to every node, and its host and port', () => {
    assert.deepEqual(clusterSeed('rediss://gatehouse:p%40ss%2Fword@node-1.cache.example.test:6380'), {
      host: 'node-1.cache.example.test',
      port: 6380,
      nodeOptions: { username: 'gatehouse', password: 'p@ss/word', tls: {} },
    });
    assert.deepEqual(clusterSeed('redis://:only-password@[::1]'), { host: '::1', port: 6379, nodeOptions: { password: 'only-password' } });
    assert.deepEqual(clusterSeed('redis://127.0.0.1:7101/0'), { host: '127.0.0.1', port: 7101, nodeOptions: {} });
  });

  it('REDIS_CLUSTER opens a cluster client that refuses at once while no node answers; its subscriber is one node', async () => {
    const port = await freePort();
    const redis = openRedis(`redis://:not-a-real-password@127.0.0.1:${port}`, { log: createLogger({ level: 'silent' }), clock: () => new Date() }, { cluster: true });
    const subscriber = openSubscriber(redis);
    try {
      assert.ok(redis instanceof Cluster);
      assert.equal(redis.options.redisOptions?.password, 'not-a-real-password');
      assert.equal(redis.options.enableOfflineQueue, false);
      assert.equal(redis.options.redisOptions.maxRetriesPerRequest, 0);
      assert.equal(redisDatabase(redis), 0);
      assert.ok(subscriber instanceof Redis);
      assert.equal(subscriber.options.port, port);
      assert.equal(subscriber.options.password, 'not-a-real-password');
      assert.equal(subscriber.options.autoResubscribe, false);
      const started = performance.now();
      await assert.rejects(redis.ping());
      const ms = performance.now() - started;
      assert.ok(ms < 100, `refused after ${ms} ms`);
    } finally {
      subscriber.disconnect();
      redis.disconnect();
    }
  });
});
