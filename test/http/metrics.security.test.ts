// Attacks on the metrics endpoint: scraping without the token or with a guessed one,
// finding /metrics where no token is configured, guessing without limit, reaching the
// token-free listener from the network or through DNS rebinding, and reading personal
// data (ids, emails, addresses) out of label values.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/core/logging.ts';
import { startMetricsListener, type MetricsListener } from '../../src/features/metrics/listener.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { uniqueEmail } from '../helpers/http.ts';
import { withoutRequestId } from '../security/security.fixtures.ts';

const newToken = (): string => randomBytes(32).toString('base64url');

describe('/metrics on the public port', () => {
  const token = newToken();
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ env: { METRICS_TOKEN: token } });
  });
  after(() => test.close());

  const scrape = async (authorization?: string) =>
    test.app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });

  it('refuses a scrape without the token with a plain 401 problem and no metrics', async () => {
    const response = await scrape();
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.headers['www-authenticate'], 'Bearer');
    assert.equal(response.json<{ code: string }>().code, 'unauthorized');
    assert.ok(!response.body.includes('gatehouse_'), 'nothing of the exposition leaks');
  });

  it('refuses a wrong token, a prefix of the token, the token with more after it, or in another scheme', async () => {
    const attempts = [
      `Bearer ${newToken()}`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer ${token.toUpperCase()}`,
      `Basic ${token}`,
      token,
      'Bearer ',
      `Bearer ${token.slice(0, 8)}${'A'.repeat(5000)}`,
    ];
    for (const authorization of attempts) {
      const response = await scrape(authorization);
      assert.equal(response.statusCode, 401, authorization.slice(0, 20));
      assert.equal(response.json<{ code: string }>().code, 'unauthorized');
      const challenge = authorization.startsWith('Bearer ') ? 'Bearer error="invalid_token"' : 'Bearer';
      assert.equal(response.headers['www-authenticate'], challenge, authorization.slice(0, 20));
    }
  });

  it('serves the text exposition, not JSON, for the right token in any case of the scheme', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await scrape(`${scheme} ${token}`);
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.ok(response.body.startsWith('# HELP'), 'sent as is, not serialized as a JSON string');
      assert.ok(response.body.includes('# TYPE gatehouse_http_request_duration_seconds histogram'));
    }
  });

  it('is not in the OpenAPI document', async () => {
    const doc = await test.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.ok(!Object.keys(doc.json<{ paths: Record<string, unknown> }>().paths).includes('/metrics'));
  });
});

describe('guessing the metrics token', () => {
  it('draws on the global rate limit like every other route', async () => {
    const test = await startTestApp({ env: { METRICS_TOKEN: newToken(), RATE_LIMIT_MAX: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const response = await test.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${newToken()}` } });
        statuses.push(response.statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    } finally {
      await test.close();
    }
  });
});

describe('without METRICS_TOKEN', () => {
  it('the public port has no /metrics, METRICS_PORT set or not: it answers exactly as an unknown path', async () => {
    for (const env of [{}, { METRICS_PORT: '9464' }]) {
      const test = await startTestApp({ env });
      try {
        const unknown = await test.app.inject({ method: 'GET', url: '/no-such-path' });
        for (const headers of [{}, { authorization: `Bearer ${newToken()}` }]) {
          const response = await test.app.inject({ method: 'GET', url: '/metrics', headers });
          assert.equal(response.statusCode, 404);
          assert.deepEqual(withoutRequestId(response.body), withoutRequestId(unknown.body));
        }
      } finally {
        await test.close();
      }
    }
  });
});

describe('metric labels', () => {
  it('carry route patterns and fixed words, never ids, emails or client addresses', async () => {
    const token = newToken();
    const test = await startTestApp({ env: { METRICS_TOKEN: token } });
    try {
      const sessionId = randomUUID();
      const unknownId = randomUUID();
      const email = uniqueEmail('labels');
      const remoteAddress = '203.0.113.77';
      await test.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${sessionId}`, remoteAddress });
      await test.app.inject({ method: 'GET', url: `/users/${unknownId}?email=${encodeURIComponent(email)}`, remoteAddress });
      const login = await test.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { email, password: 'not the password at all' } });
      assert.equal(login.statusCode, 401);
      await test.settle();

      const body = (await test.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).body;
      assert.ok(body.includes('route="/v1/me/sessions/:id"'), 'the matched pattern is the label');
      assert.ok(body.includes('route="unmatched"'), 'an unknown path is one label value, whatever the path');
      for (const secret of [sessionId, unknownId, email, email.split('@')[0]!, remoteAddress, token]) {
        assert.ok(!body.includes(secret), `the exposition must not contain ${secret}`);
      }
    } finally {
      await test.close();
    }
  });
});

function get(listener: MetricsListener, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: listener.address.port, path, headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body }); });
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the METRICS_PORT listener', () => {
  let test: TestApp;
  let listener: MetricsListener;
  before(async () => {
    test = await startTestApp();
    listener = await startMetricsListener({ registry: test.services.metrics.registry, port: 0, log: createLogger({ level: 'silent' }) });
  });
  after(async () => {
    await listener.close();
    await test.close();
  });

  it('listens on 127.0.0.1 only, so the token-free endpoint is on no network interface', () => {
    assert.equal(listener.address.address, '127.0.0.1');
  });

  it('serves requests addressed to a loopback name without a token', async () => {
    for (const host of [`127.0.0.1:${listener.address.port}`, `localhost:${listener.address.port}`, 'LOCALHOST']) {
      const response = await get(listener, '/metrics', host);
      assert.equal(response.status, 200, host);
      assert.ok(response.body.includes('gatehouse_http_request_duration_seconds'));
    }
  });

  it('refuses requests addressed to another name (a page using DNS rebinding)', async () => {
    for (const host of [`evil.example:${listener.address.port}`, 'evil.example', `127.0.0.1.evil.example:${listener.address.port}`, `localhost.evil.example`]) {
      const response = await get(listener, '/metrics', host);
      assert.equal(response.status, 403, host);
      assert.ok(!response.body.includes('gatehouse_'));
    }
  });

  const url = (path: string): string => `http://127.0.0.1:${listener.address.port}${path}`;

  it('serves GET and HEAD /metrics and no other path or method', async () => {
    const scrape = await fetch(url('/metrics'));
    assert.equal(scrape.status, 200);
    assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await scrape.text(), /gatehouse_auth_logins_total/);
    assert.equal((await fetch(url('/metrics'), { method: 'HEAD' })).status, 200);
    const other = await fetch(url('/healthz'));
    assert.equal(other.status, 404);
    await other.text();
    const post = await fetch(url('/metrics'), { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
  });

  it('stops listening when closed, even with a kept-alive connection', async () => {
    await (await fetch(url('/metrics'))).text();
    await listener.close();
    await assert.rejects(fetch(url('/metrics')));
  });
});
