// Security headers are on every response, whatever produced it: a route, the 404
// handler, the error handler, the rate limiter or the body parser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { responses } from '../../src/core/http/problem.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

function assertSecurityHeaders(headers: Record<string, unknown>, label: string): void {
  assert.match(String(headers['content-security-policy']), /default-src 'none'/, `${label}: CSP`);
  assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/, `${label}: CSP frame-ancestors`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  assert.equal(headers['x-frame-options'], 'DENY', `${label}: frame options`);
  assert.equal(headers['referrer-policy'], 'no-referrer', `${label}: referrer policy`);
  assert.equal(headers['x-powered-by'], undefined, `${label}: x-powered-by`);
  assert.ok(typeof headers['x-request-id'] === 'string', `${label}: request id`);
}

describe('security headers', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      env: { RATE_LIMIT_MAX: '1000', BODY_LIMIT_BYTES: '1024' },
      routes: (app) => {
        app.get('/boom', { config: { access: 'public' }, schema: { response: responses({ 200: Type.Object({}) }) } }, () => {
          throw new Error('kaboom');
        });
        app.post(
          '/v1/echo',
          {
            config: { access: 'public' },
            schema: {
              body: Type.Object({ name: Type.String({ maxLength: 8 }) }, { additionalProperties: false }),
              response: responses({ 200: Type.Object({ name: Type.String({ maxLength: 8 }) }) }),
            },
          },
          (request) => request.body as { name: string },
        );
      },
    });
  });
  after(() => test.close());

  const cases: [string, () => Promise<{ statusCode: number; headers: Record<string, unknown> }>, number][] = [
    ['200 route', () => test.app.inject({ method: 'GET', url: '/healthz' }), 200],
    ['404 unknown path', () => test.app.inject({ method: 'GET', url: '/nope' }), 404],
    ['405 wrong method', () => test.app.inject({ method: 'DELETE', url: '/healthz' }), 405],
    ['500 internal error', () => test.app.inject({ method: 'GET', url: '/boom' }), 500],
    ['400 invalid body', () => test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x', extra: 1 } }), 400],
    ['400 malformed JSON', () => test.app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': 'application/json' }, payload: '{"name":' }), 400],
    ['413 oversized body', () => test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x'.repeat(5000) } }), 413],
    ['415 wrong content type', () => test.app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': 'text/xml' }, payload: '<a/>' }), 415],
  ];

  for (const [label, send, status] of cases) {
    it(`are present on a ${label}`, async () => {
      const response = await send();
      assert.equal(response.statusCode, status);
      assertSecurityHeaders(response.headers, label);
    });
  }

  it('send no-store on the API and on errors', async () => {
    const api = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'ok' } });
    assert.equal(api.headers['cache-control'], 'no-store');
    const error = await test.app.inject({ method: 'GET', url: '/nope' });
    assert.equal(error.headers['cache-control'], 'no-store');
  });

  it('omit HSTS when the public URL is plain http', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.headers['strict-transport-security'], undefined);
  });

  it('send HSTS when the public URL is https', async () => {
    const https = await startTestApp({ env: { PUBLIC_URL: 'https://id.example.test' } });
    try {
      const response = await https.app.inject({ method: 'GET', url: '/healthz' });
      assert.match(String(response.headers['strict-transport-security']), /max-age=\d+; includeSubDomains/);
    } finally {
      await https.close();
    }
  });
});
