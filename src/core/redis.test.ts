// The Redis connection's failure behaviour: refusals are immediate, an outage is logged
// once (not once per reconnection attempt), and nothing secret reaches the log.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { captureLines } from '../../test/helpers/app.ts';
import { freePort } from '../../test/helpers/server-process.ts';
import { manualClock } from './limits/limits.fixtures.ts';
import { createLogger } from './logging.ts';
import { describeRedisFailure, openRedis, watchRedis } from './redis.ts';

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
});
