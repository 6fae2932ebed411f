// Route-declared request budgets (config.rateLimit): each is enforced, counts by the key
// it declares and nothing else, and a refusal's RateLimit headers and Retry-After name
// the limit that refused, not the global one. Run on the memory store and, with
// REDIS_URL_TEST, on Redis: both count through the same module.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Type } from 'typebox';
import type { App } from '../../src/app.ts';
import { registerRateLimits, type RouteLimit } from '../../src/core/http/rate-limit.ts';
import { RoutePolicyError } from '../../src/core/http/route-policy.ts';
import { createCounterStores } from '../../src/core/limits/stores.ts';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  json<T>(): T;
}

const ok = { 200: Type.Object({ ok: Type.Boolean() }) };
const emailBody = Type.Object({ email: Type.String({ maxLength: 254 }) }, { additionalProperties: false });
const tight: RouteLimit = { name: 'test-tight', key: 'address', max: 2, windowMs: 30_000 };

/** Routes that exist only in these tests, declaring their own limits. */
function testRoutes(app: App): void {
  const reply = async (): Promise<{ ok: boolean }> => ({ ok: true });
  app.get('/test/plain', { config: { access: 'public' }, schema: { response: ok } }, reply);
  app.get('/test/tight', { config: { access: 'public', rateLimit: [tight] }, schema: { response: ok } }, reply);
  app.get('/test/tight-too', { config: { access: 'public', rateLimit: [tight] }, schema: { response: ok } }, reply);
  app.get('/test/items/:id', { config: { access: 'public', rateLimit: [{ name: 'test-items', key: 'address', max: 2, windowMs: 60_000 }] }, schema: { response: ok } }, reply);
  app.get('/test/roomy', { config: { access: 'public', rateLimit: [{ name: 'test-roomy', key: 'address', max: 50, windowMs: 60_000 }] }, schema: { response: ok } }, reply);
  app.get('/test/two', {
    config: { access: 'public', rateLimit: [{ name: 'test-five', key: 'address', max: 5, windowMs: 60_000 }, { name: 'test-three', key: 'address', max: 3, windowMs: 60_000 }] },
    schema: { response: ok },
  }, reply);
  app.get('/test/ties', {
    config: { access: 'public', rateLimit: [{ name: 'test-short', key: 'address', max: 3, windowMs: 60_000 }, { name: 'test-long', key: 'address', max: 3, windowMs: 600_000 }] },
    schema: { response: ok },
  }, reply);
  app.post('/test/account', { config: { access: 'public', rateLimit: [{ name: 'test-account', key: 'account', max: 2, windowMs: 60_000 }] }, schema: { body: emailBody, response: ok } }, reply);
}

function assertNames(answer: Answer, policy: string, remaining: number): void {
  assert.equal(answer.headers['ratelimit-policy'], policy);
  const name = policy.split(';')[0]!;
  const reset = answer.headers['ratelimit-reset'];
  assert.ok(typeof reset === 'string' && /^\d+$/.test(reset), `RateLimit-Reset ${String(reset)}`);
  assert.equal(answer.headers['ratelimit'], `${name};r=${remaining};t=${reset}`);
  assert.equal(answer.headers['ratelimit-remaining'], String(remaining));
  if (answer.statusCode === 429) {
    assert.equal(answer.json<{ code: string }>().code, 'rate_limited');
    assert.ok(Number(reset) >= 1);
    assert.equal(answer.headers['retry-after'], reset, 'Retry-After is the refusing limit\'s reset');
  } else {
    assert.equal(answer.headers['retry-after'], undefined);
  }
}

const redisUrl = process.env['REDIS_URL_TEST'];
const stores = [
  { name: 'memory', skip: false as const },
  { name: 'Redis', skip: redisUrl === undefined || redisUrl === '' ? 'REDIS_URL_TEST not set' : false as const },
];

for (const store of stores) {
  describe(`route-declared rate limits on ${store.name}`, { skip: store.skip }, () => {
    const clients: Redis[] = [];
    after(() => {
      for (const client of clients) client.disconnect();
    });

    /** A fresh app on fresh counters (its own Redis key space). */
    async function start(env: Record<string, string>, options: TestAppOptions = {}): Promise<TestApp> {
      let redis: Redis | null = null;
      if (store.name === 'Redis') {
        redis = new Redis(redisUrl!, { keyPrefix: `t${randomBytes(4).toString('hex')}:`, maxRetriesPerRequest: 1 });
        clients.push(redis);
      }
      return startTestApp({ ...options, env: { RATE_LIMIT_MAX: '1000', ...env }, redis, routes: testRoutes });
    }

    async function using(env: Record<string, string>, fn: (test: TestApp) => Promise<void>, options: TestAppOptions = {}): Promise<void> {
      const test = await start(env, options);
      try {
        await fn(test);
      } finally {
        await test.close();
      }
    }

    it('a route declared without rateLimit still draws on the global limit, and its refusal names it', async () => {
      await using({ RATE_LIMIT_MAX: '2' }, async (test) => {
        const answers: Answer[] = [];
        for (let i = 0; i < 3; i++) answers.push(await test.app.inject({ method: 'GET', url: '/test/plain' }));
        assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 429]);
        assertNames(answers[0]!, '"global";q=2;w=60', 1);
        assertNames(answers[2]!, '"global";q=2;w=60', 0);
      });
    });

    it('a route\'s declared limit is enforced, and its refusal names it rather than the global limit', async () => {
      await using({}, async (test) => {
        const answers: Answer[] = [];
        for (let i = 0; i < 3; i++) answers.push(await test.app.inject({ method: 'GET', url: '/test/tight' }));
        assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 429]);
        assertNames(answers[0]!, '"test-tight";q=2;w=30', 1);
        assertNames(answers[2]!, '"test-tight";q=2;w=30', 0);
        // The global budget is untouched by the refusal's name: other routes still answer.
        assert.equal((await test.app.inject({ method: 'GET', url: '/test/plain' })).statusCode, 200);
      });
    });

    it('a route\'s own limit does not spare it the global one', async () => {
      await using({ RATE_LIMIT_MAX: '2' }, async (test) => {
        const answers: Answer[] = [];
        for (let i = 0; i < 3; i++) answers.push(await test.app.inject({ method: 'GET', url: '/test/roomy' }));
        assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 429]);
        assertNames(answers[2]!, '"global";q=2;w=60', 0);
      });
    });

    it('a limit is one budget by name: routes declaring it, and every id of a route pattern, share it', async () => {
      await using({}, async (test) => {
        const statuses: number[] = [];
        for (const url of ['/test/tight', '/test/tight-too', '/test/tight']) statuses.push((await test.app.inject({ method: 'GET', url })).statusCode);
        assert.deepEqual(statuses, [200, 200, 429]);
        const items: number[] = [];
        for (const id of ['1', '2', '3']) items.push((await test.app.inject({ method: 'GET', url: `/test/items/${id}` })).statusCode);
        assert.deepEqual(items, [200, 200, 429]);
      });
    });

    it('an allowed response describes the most restrictive limit: fewest left, then the later reset', async () => {
      await using({}, async (test) => {
        assertNames(await test.app.inject({ method: 'GET', url: '/test/two' }), '"test-three";q=3;w=60', 2);
        assertNames(await test.app.inject({ method: 'GET', url: '/test/ties' }), '"test-long";q=3;w=600', 2);
      });
    });

    it('health probes draw on no budget and carry no RateLimit headers', async () => {
      await using({ RATE_LIMIT_MAX: '1' }, async (test) => {
        await test.app.inject({ method: 'GET', url: '/test/plain' });
        for (const probe of ['/healthz', '/healthz', '/readyz']) {
          const answer = await test.app.inject({ method: 'GET', url: probe });
          assert.equal(answer.statusCode, 200, probe);
          assert.equal(answer.headers['ratelimit'], undefined, probe);
          assert.equal(answer.headers['ratelimit-policy'], undefined, probe);
        }
      });
    });

    it('address: every /v1/auth route draws on one per-address budget, and another address has its own', async () => {
      await using({ AUTH_RATE_LIMIT_MAX: '3', AUTH_RATE_LIMIT_WINDOW: '120' }, async (test) => {
        const requests = [
          { url: '/v1/auth/login', payload: { email: uniqueEmail('a'), password: 'wrong guess' } },
          { url: '/v1/auth/password/forgot', payload: { email: uniqueEmail('b') } },
          { url: '/v1/auth/refresh', payload: { refresh_token: `ghr_${'x'.repeat(43)}` } },
          { url: '/v1/auth/login', payload: { email: uniqueEmail('c'), password: 'wrong guess' } },
        ];
        const answers: Answer[] = [];
        for (const request of requests) answers.push(await test.app.inject({ method: 'POST', ...request }));
        assert.deepEqual(answers.map((a) => a.statusCode === 429), [false, false, false, true]);
        assertNames(answers[3]!, '"auth-address";q=3;w=120', 0);
        const elsewhere = await test.app.inject({ method: 'POST', ...requests[3]!, remoteAddress: '192.0.2.44' });
        assert.equal(elsewhere.statusCode, 401);
      });
    });

    it('address+account: two accounts from one address have separate budgets, as has one account from two addresses', async () => {
      await using({ AUTH_ACCOUNT_RATE_LIMIT_MAX: '2', LOCKOUT_THRESHOLD: '100' }, async (test) => {
        const guess = (email: string, remoteAddress = '127.0.0.1'): Promise<Answer> =>
          test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong guess' }, remoteAddress });
        const first = uniqueEmail('first');
        const second = uniqueEmail('second');
        const statuses = [(await guess(first)).statusCode, (await guess(first)).statusCode];
        const refused = await guess(first);
        assert.deepEqual([...statuses, refused.statusCode], [401, 401, 429]);
        assertNames(refused, '"auth-account";q=2;w=900', 0);
        assert.equal((await guess(second)).statusCode, 401, 'another account from the same address');
        assert.equal((await guess(first, '192.0.2.45')).statusCode, 401, 'the same account from another address');
        // The account is the address as typed, normalized: a change of case is no new budget.
        assert.equal((await guess(first.toUpperCase())).statusCode, 429);
      });
    });

    it('address+account on password change: the account is the signed-in user, each with a budget of their own', async () => {
      await using({ AUTH_ACCOUNT_RATE_LIMIT_MAX: '2', LOCKOUT_THRESHOLD: '100' }, async (test) => {
        const tokens: string[] = [];
        for (const label of ['alice', 'bob']) {
          const email = uniqueEmail(label);
          const password = strongPassword();
          await test.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } });
          await test.settle();
          await test.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: tokenFromMail(test.mails, email, /Confirm/) } });
          // From elsewhere, so these logins spend nothing of the budgets under test.
          const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: '192.0.2.46' });
          assert.equal(login.statusCode, 200, login.body);
          tokens.push(login.json<{ access_token: string }>().access_token);
        }
        const change = (token: string): Promise<Answer> => test.app.inject({
          method: 'POST',
          url: '/v1/me/password',
          headers: { authorization: `Bearer ${token}` },
          payload: { current_password: 'a wrong guess at it', new_password: strongPassword() },
        });
        const alice = [await change(tokens[0]!), await change(tokens[0]!), await change(tokens[0]!)];
        assert.deepEqual(alice.map((a) => a.statusCode), [401, 401, 429]);
        assertNames(alice[2]!, '"auth-account";q=2;w=900', 0);
        assert.equal((await change(tokens[1]!)).statusCode, 401, 'another user from the same address');
      });
    });

    it('account: one budget per account named in the body, whichever address asks', async () => {
      await using({}, async (test) => {
        const ask = (email: string, remoteAddress: string): Promise<Answer> =>
          test.app.inject({ method: 'POST', url: '/test/account', payload: { email }, remoteAddress });
        const named = uniqueEmail('named');
        const statuses = [(await ask(named, '192.0.2.1')).statusCode, (await ask(named, '192.0.2.2')).statusCode, (await ask(named, '192.0.2.3')).statusCode];
        assert.deepEqual(statuses, [200, 200, 429]);
        assert.equal((await ask(uniqueEmail('other'), '192.0.2.1')).statusCode, 200);
      });
    });

    it('recipient: one mail budget per address asked for, across addresses and the routes that send mail', async () => {
      await using({}, async (test) => {
        const email = uniqueEmail('inbox');
        const asks = [
          { url: '/v1/auth/register', payload: { email, password: strongPassword() } },
          { url: '/v1/auth/verify-email/resend', payload: { email } },
          { url: '/v1/auth/password/forgot', payload: { email } },
          { url: '/v1/auth/password/forgot', payload: { email } },
          { url: '/v1/auth/verify-email/resend', payload: { email } },
          { url: '/v1/auth/password/forgot', payload: { email } },
        ];
        const answers: Answer[] = [];
        for (const [i, ask] of asks.entries()) answers.push(await test.app.inject({ method: 'POST', ...ask, remoteAddress: `192.0.2.${100 + i}` }));
        assert.deepEqual(answers.map((a) => a.statusCode), [202, 202, 202, 202, 202, 429]);
        assertNames(answers[5]!, '"mail-recipient";q=5;w=3600', 0);
        const other = await test.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: uniqueEmail('other-inbox') }, remoteAddress: '192.0.2.100' });
        assert.equal(other.statusCode, 202);
        await test.settle();
      });
    });
  });
}

// A limit that could not be counted as declared stops the server, as a route without
// access does (route-policy.ts): a misdeclared limit must not ship as no limit at all.
describe('route limit declarations', () => {
  function declare(routes: (app: FastifyInstance) => void): void {
    const app = Fastify();
    registerRateLimits(app, {
      global: { max: 10, windowMs: 60_000 },
      stores: createCounterStores({ redis: null, clock: () => new Date(), maxKeysPerLimit: 10 }),
      emailIndex: (email) => email,
      signedInUser: () => null,
    });
    routes(app);
  }
  const handler = async (): Promise<{ ok: boolean }> => ({ ok: true });

  it('a key that needs body.email, on a route whose body has none, is refused', () => {
    const recipient: RouteLimit = { name: 'test-recipient', key: 'recipient', max: 1, windowMs: 1000 };
    assert.throws(() => { declare((app) => { app.post('/no-email', { config: { access: 'public', rateLimit: [recipient] }, schema: { response: ok } }, handler); }); }, RoutePolicyError);
    const account: RouteLimit = { name: 'test-account', key: 'address+account', max: 1, windowMs: 1000 };
    assert.throws(() => { declare((app) => { app.post('/no-email', { config: { access: 'public', rateLimit: [account] }, schema: { response: ok } }, handler); }); }, RoutePolicyError);
    // Behind authentication the account is the signed-in user: no body needed.
    declare((app) => { app.post('/signed-in', { config: { access: 'authenticated', rateLimit: [account] }, schema: { response: ok } }, handler); });
  });

  it('one limit name declared with two settings is refused', () => {
    assert.throws(() => { declare((app) => {
      app.get('/one', { config: { access: 'public', rateLimit: [{ name: 'test-twice', key: 'address', max: 1, windowMs: 1000 }] }, schema: { response: ok } }, handler);
      app.get('/two', { config: { access: 'public', rateLimit: [{ name: 'test-twice', key: 'address', max: 2, windowMs: 1000 }] }, schema: { response: ok } }, handler);
    }); }, RoutePolicyError);
  });

  it('the global limit\'s name, and windows of part of a second, are refused', () => {
    assert.throws(() => { declare((app) => { app.get('/global', { config: { access: 'public', rateLimit: [{ name: 'global', key: 'address', max: 1, windowMs: 1000 }] }, schema: { response: ok } }, handler); }); }, RoutePolicyError);
    assert.throws(() => { declare((app) => { app.get('/part', { config: { access: 'public', rateLimit: [{ name: 'test-part', key: 'address', max: 1, windowMs: 1500 }] }, schema: { response: ok } }, handler); }); }, RoutePolicyError);
  });
});
