// What the metrics count: request durations by route pattern, 429s by route, login
// outcomes, lockouts and refresh reuse (from the audit events), audit append latency and
// the exported instruments. Read from the app's own registry, so the scrapes themselves
// neither count nor draw on the rate limits under test. The endpoints are tested in
// metrics.security.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.ts';
import type { EngineApp } from '../helpers/engine-app.ts';
import { httpClient, strongPassword, uniqueEmail } from '../helpers/http.ts';
import { parseExposition, sampleSum } from '../helpers/metrics.ts';
import { logIn, registerVerified } from '../security/security.fixtures.ts';

async function exposition(test: TestApp): Promise<string> {
  return test.services.metrics.registry.metrics();
}

async function withApp(options: TestAppOptions, fn: (test: TestApp) => Promise<void>): Promise<void> {
  const test = await startTestApp(options);
  try {
    await fn(test);
  } finally {
    await test.close();
  }
}

describe('request metrics', () => {
  it('time each request by method, route pattern and status', async () => {
    await withApp({}, async (test) => {
      for (let i = 0; i < 2; i += 1) await test.app.inject({ method: 'GET', url: '/healthz' });
      await test.app.inject({ method: 'GET', url: '/v1/me' });
      await test.app.inject({ method: 'GET', url: '/no/such/path' });
      const text = await exposition(test);
      const count = (labels: Record<string, string>): number => sampleSum(text, 'gatehouse_http_request_duration_seconds_count', labels);
      assert.equal(count({ method: 'GET', route: '/healthz', status: '200' }), 2);
      assert.equal(count({ method: 'GET', route: '/v1/me', status: '401' }), 1);
      assert.equal(count({ method: 'GET', route: 'unmatched', status: '404' }), 1);
    });
  });

  it('count 429s by route, from the global limit and from the auth limits', async () => {
    await withApp({ env: { RATE_LIMIT_MAX: '2' } }, async (test) => {
      for (let i = 0; i < 3; i += 1) await test.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      await test.app.inject({ method: 'GET', url: '/nowhere' });
      const text = await exposition(test);
      assert.equal(sampleSum(text, 'gatehouse_http_rate_limited_total', { route: '/.well-known/jwks.json' }), 1);
      assert.equal(sampleSum(text, 'gatehouse_http_rate_limited_total', { route: 'unmatched' }), 1);
    });
    await withApp({ env: { AUTH_RATE_LIMIT_MAX: '1' } }, async (test) => {
      const body = { email: uniqueEmail('limited'), password: strongPassword() };
      const statuses: number[] = [];
      for (let i = 0; i < 2; i += 1) statuses.push((await test.app.inject({ method: 'POST', url: '/v1/auth/login', payload: body })).statusCode);
      assert.deepEqual(statuses, [401, 429]);
      assert.equal(sampleSum(await exposition(test), 'gatehouse_http_rate_limited_total', { route: '/v1/auth/login' }), 1);
    });
  });
});

describe('account metrics', () => {
  let app: EngineApp;
  before(async () => {
    const test = await startTestApp({ listen: true, env: { LOCKOUT_THRESHOLD: '2', AUTH_RATE_LIMIT_MAX: '1000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '1000', REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: '0' } });
    app = { ...test, client: httpClient(test.baseURL) };
  });
  after(() => app.close());

  const logins = async (outcome: string, reason: string): Promise<number> =>
    sampleSum(await exposition(app), 'gatehouse_auth_logins_total', { outcome, reason });
  const attempt = (email: string, password: string): Promise<unknown> => app.client.request('POST', '/v1/auth/login', { body: { email, password } });

  it('start every login series at zero, so rates exist before the first event', async () => {
    const series = parseExposition(await exposition(app)).filter((entry) => entry.name === 'gatehouse_auth_logins_total');
    assert.deepEqual(
      series.map((entry) => `${entry.labels['outcome'] ?? ''}/${entry.labels['reason'] ?? ''}=${entry.value}`).sort(),
      ['failed/other=0', 'failed/unknown_account=0', 'failed/wrong_password=0', 'succeeded/none=0'],
    );
  });

  it('count login outcomes, lockouts and refresh reuse, and time every audit append', async () => {
    const email = uniqueEmail('counted');
    const password = strongPassword();
    await registerVerified(app, email, password);
    const auditRows = async (): Promise<number> => (await app.database.db.selectFrom('audit_events').select('seq').execute()).length;
    const rowsBefore = await auditRows();
    const appendsBefore = sampleSum(await exposition(app), 'gatehouse_audit_append_duration_seconds_count');

    await attempt(uniqueEmail('nobody'), password);
    assert.equal(await logins('failed', 'unknown_account'), 1);
    await attempt(email, 'not the right password');
    assert.equal(await logins('failed', 'wrong_password'), 1);
    const tokens = await logIn(app, email, password);
    assert.equal(await logins('succeeded', 'none'), 1);

    const body = { refresh_token: tokens.refresh_token };
    assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body })).status, 200);
    assert.equal((await app.client.request('POST', '/v1/auth/refresh', { body })).status, 401);
    assert.equal(sampleSum(await exposition(app), 'gatehouse_auth_refresh_reuse_total'), 1);

    for (let i = 0; i < 2; i += 1) await attempt(email, 'still not the right password');
    const text = await exposition(app);
    assert.equal(sampleSum(text, 'gatehouse_auth_lockouts_total'), 1);
    assert.equal(sampleSum(text, 'gatehouse_auth_logins_total', { outcome: 'failed', reason: 'wrong_password' }), 3);
    assert.equal(sampleSum(text, 'gatehouse_audit_append_duration_seconds_count') - appendsBefore, (await auditRows()) - rowsBefore, 'one observation per record');
  });
});

describe('exported instruments', () => {
  it('put the process metrics and the webhook failure counter under the gatehouse_ prefix', async () => {
    await withApp({}, async (test) => {
      test.services.metrics.webhookFailures.inc();
      const series = parseExposition(await exposition(test));
      assert.equal(series.find((entry) => entry.name === 'gatehouse_webhook_failures_total')?.value, 1);
      assert.ok(series.some((entry) => entry.name === 'gatehouse_process_cpu_user_seconds_total'));
      assert.ok(series.some((entry) => entry.name === 'gatehouse_nodejs_heap_size_used_bytes'));
      assert.deepEqual(series.filter((entry) => !entry.name.startsWith('gatehouse_')), []);
    });
  });
});
