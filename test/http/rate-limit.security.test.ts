// Request flooding: past the budget a client gets 429 with Retry-After; a forged
// X-Forwarded-For does not buy a fresh budget; IPv6 clients are counted per /64; and
// several instances configured with one Redis draw from one shared budget. The health
// probes draw on no budget (liveness must not depend on Redis, nor on a shared address).
// Any route under the global budget serves: the JWKS is public and cheap.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { clientAddressKey } from '../../src/core/http/client-address.ts';
import { JWKS_PATH } from '../../src/features/tokens/jwks-routes.ts';
import { startTestApp } from '../helpers/app.ts';

describe('rate limiting', () => {
  it('answers 429 with Retry-After and RateLimit headers past the budget', async () => {
    const test = await startTestApp({ env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' } });
    try {
      for (let i = 0; i < 3; i += 1) {
        const ok = await test.app.inject({ method: 'GET', url: JWKS_PATH });
        assert.equal(ok.statusCode, 200);
        assert.equal(ok.headers['ratelimit-limit'], '3');
      }
      const limited = await test.app.inject({ method: 'GET', url: JWKS_PATH });
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json<{ code: string }>().code, 'rate_limited');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      assert.equal(limited.headers['x-content-type-options'], 'nosniff');
      const unknownPath = await test.app.inject({ method: 'GET', url: '/no-such-path' });
      assert.equal(unknownPath.statusCode, 429, 'unknown paths share the budget');
      for (const probe of ['/healthz', '/readyz']) {
        const answer = await test.app.inject({ method: 'GET', url: probe });
        assert.equal(answer.statusCode, 200, `${probe} answers past the budget`);
        assert.equal(answer.headers['ratelimit-limit'], undefined, `${probe} draws on no budget`);
      }
    } finally {
      await test.close();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY says otherwise', async () => {
    const test = await startTestApp({ env: { RATE_LIMIT_MAX: '2' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const response = await test.app.inject({ method: 'GET', url: JWKS_PATH, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
        statuses.push(response.statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
    } finally {
      await test.close();
    }
  });

  it('counts requests that fail authentication too (no unlimited token guessing)', async () => {
    const test = await startTestApp({ env: { RATE_LIMIT_MAX: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        statuses.push((await test.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer not.a.token' } })).statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    } finally {
      await test.close();
    }
  });

  it('counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(clientAddressKey('2001:db8:1:2:aaaa::1'), '2001:0db8:0001:0002::/64');
    assert.equal(clientAddressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:0db8:0001:0002::/64');
    assert.notEqual(clientAddressKey('2001:db8:1:3::1'), clientAddressKey('2001:db8:1:2::1'));
    assert.equal(clientAddressKey('::1'), '0000:0000:0000:0000::/64');
    assert.equal(clientAddressKey('fe80::1%eth0'), 'fe80:0000:0000:0000::/64');
    assert.equal(clientAddressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientAddressKey('192.0.2.7'), '192.0.2.7');
  });

  const redisUrl = process.env['REDIS_URL_TEST'];
  describe('with Redis', { skip: redisUrl === undefined || redisUrl === '' ? 'REDIS_URL_TEST not set' : false }, () => {
    const clients: Redis[] = [];
    after(() => {
      for (const client of clients) client.disconnect();
    });

    it('two app instances share one budget', async () => {
      const namespace = randomBytes(4).toString('hex');
      const open = (): Redis => {
        const client = new Redis(redisUrl!, { keyPrefix: `t${namespace}:`, maxRetriesPerRequest: 1 });
        clients.push(client);
        return client;
      };
      const env = { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_SECONDS: '60' };
      const first = await startTestApp({ env, redis: open() });
      const second = await startTestApp({ env, redis: open() });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i += 1) {
          const target = i % 2 === 0 ? first : second;
          statuses.push((await target.app.inject({ method: 'GET', url: JWKS_PATH })).statusCode);
        }
        assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('fails closed when the store is unreachable: 503 with Retry-After, while liveness still answers', async () => {
      const broken = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
      clients.push(broken);
      const test = await startTestApp({ redis: broken });
      try {
        for (const request of [
          { method: 'GET', url: JWKS_PATH },
          { method: 'GET', url: '/no-such-path' },
          { method: 'POST', url: '/v1/auth/login', payload: { email: 'someone@example.test', password: 'a long enough password' } },
        ] as const) {
          const response = await test.app.inject(request);
          assert.equal(response.statusCode, 503, request.url);
          assert.equal(response.json<{ code: string }>().code, 'service_unavailable');
          assert.ok(Number(response.headers['retry-after']) >= 1, request.url);
        }
        assert.equal((await test.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
        assert.equal((await test.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
      } finally {
        await test.close();
      }
    });
  });
});
