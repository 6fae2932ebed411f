// Cross-origin reads are allowed only for listed origins.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('CORS allowlist', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example.test', CORS_CREDENTIALS: 'true' } });
  });
  after(() => test.close());

  it('allows a listed origin, with credentials', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example.test' } });
    assert.equal(response.headers['access-control-allow-origin'], 'https://app.example.test');
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
  });

  it('lets a listed origin read the rate-limit fields and Retry-After', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { origin: 'https://app.example.test' } });
    const exposed = String(response.headers['access-control-expose-headers']).split(',').map((name) => name.trim());
    for (const name of ['retry-after', 'ratelimit', 'ratelimit-policy']) assert.ok(exposed.includes(name), `${name} in ${exposed.join(', ')}`);
    assert.match(String(response.headers['ratelimit-policy']), /^"global";q=\d+;w=\d+$/);
  });

  it('refuses an origin that is not listed, including look-alikes', async () => {
    for (const origin of ['https://evil.example.test', 'https://app.example.test.evil.test', 'http://app.example.test', 'null']) {
      const response = await test.app.inject({ method: 'GET', url: '/healthz', headers: { origin } });
      assert.equal(response.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('answers a preflight for a listed origin and not for another', async () => {
    const ok = await test.app.inject({
      method: 'OPTIONS',
      url: '/healthz',
      headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.test');
    const refused = await test.app.inject({
      method: 'OPTIONS',
      url: '/healthz',
      headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });
});
