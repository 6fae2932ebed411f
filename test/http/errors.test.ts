// Every error is RFC 9457 problem details with a stable code and the request id, and
// never carries a stack, a message from a library, a file path or the offending value.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { responses } from '../../src/core/http/problem.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('problem responses', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      env: { BODY_LIMIT_BYTES: '2048' },
      routes: (app) => {
        app.get('/boom', { config: { access: 'public' }, schema: { response: responses({ 200: Type.Object({}) }) } }, () => {
          throw new Error('connect ECONNREFUSED /var/run/secret.sock SELECT * FROM users');
        });
        app.post(
          '/v1/echo',
          {
            config: { access: 'public' },
            schema: {
              body: Type.Object(
                { name: Type.String({ maxLength: 8 }), email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })) },
                { additionalProperties: false },
              ),
              response: responses({ 200: Type.Object({ name: Type.String({ maxLength: 8 }) }, { additionalProperties: false }) }),
            },
          },
          (request) => ({ ...(request.body as { name: string }), leaked: 'internal' }),
        );
      },
    });
  });
  after(() => test.close());

  it('an internal error is a generic 500 with a request id; the stack is only in the log', async () => {
    const response = await test.app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'trace-1234-abcd' } });
    assert.equal(response.statusCode, 500);
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    const body = response.json<Record<string, unknown>>();
    assert.deepEqual(body, {
      type: 'urn:gatehouse:problem:internal_error',
      title: 'An internal error occurred.',
      status: 500,
      code: 'internal_error',
      request_id: 'trace-1234-abcd',
    });
    assert.doesNotMatch(response.body, /ECONNREFUSED|secret\.sock|SELECT|at .*\.ts/);
    const logged = test.logs.find((line) => line.includes('trace-1234-abcd') && line.includes('"level":"error"'));
    assert.ok(logged !== undefined, 'the failure is logged with its request id');
    assert.match(logged, /ECONNREFUSED/);
    assert.match(logged, /"stack":/);
  });

  it('400 names the unknown field and the rule, never the value', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'ok', role: 'admin-value' } });
    assert.equal(response.statusCode, 400);
    const body = response.json<{ code: string; errors: { field: string; rule: string }[] }>();
    assert.equal(body.code, 'invalid_request');
    assert.deepEqual(body.errors, [{ field: '/body/role', rule: 'additionalProperties' }]);
    assert.doesNotMatch(response.body, /admin-value/);
  });

  it('400 for an over-long string, naming the field', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'much-too-long-secret' } });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json<{ errors: unknown }>().errors, [{ field: '/body/name', rule: 'maxLength' }]);
    assert.doesNotMatch(response.body, /much-too-long-secret/);
  });

  it('400 for a malformed email', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'ok', email: 'not-an-email' } });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json<{ errors: unknown }>().errors, [{ field: '/body/email', rule: 'format' }]);
  });

  it('400 for malformed JSON without the parser message', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json<{ code: string }>().code, 'invalid_request');
    assert.doesNotMatch(response.body, /JSON|Unexpected|position/);
  });

  it('400 for malformed or empty JSON says the body did not parse (field /body, rule json)', async () => {
    for (const payload of ['{"name": "x",', '', '{"__proto__": {"admin": true}}', 'nul']) {
      const response = await test.app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(response.statusCode, 400, payload);
      const body = response.json<{ code: string; errors: unknown }>();
      assert.equal(body.code, 'invalid_request');
      assert.deepEqual(body.errors, [{ field: '/body', rule: 'json' }], payload);
    }
  });

  it('413 for a body over the limit', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x'.repeat(4096) } });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json<{ code: string }>().code, 'payload_too_large');
  });

  it('415 for an unsupported content type', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': 'text/plain' }, payload: 'name=x' });
    assert.equal(response.statusCode, 415);
    assert.equal(response.json<{ code: string }>().code, 'unsupported_media_type');
  });

  it('404 and 405 share the shape; 405 says which methods are allowed', async () => {
    const missing = await test.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, 'not_found');
    const wrongMethod = await test.app.inject({ method: 'PUT', url: '/healthz' });
    assert.equal(wrongMethod.statusCode, 405);
    assert.equal(wrongMethod.json<{ code: string }>().code, 'method_not_allowed');
    assert.equal(wrongMethod.headers['allow'], 'GET, HEAD');
  });

  it('a response field that the schema does not declare is never sent', async () => {
    const response = await test.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'ok' } });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { name: 'ok' });
  });

  it('keeps a well-formed inbound request id and replaces a malformed one', async () => {
    const kept = await test.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123-def-456' } });
    assert.equal(kept.headers['x-request-id'], 'abc-123-def-456');
    const replaced = await test.app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'bad id\u0000<script>' } });
    const id = String(replaced.headers['x-request-id']);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(replaced.json<{ request_id: string }>().request_id, id);
  });

  it('writes one log line per request with id, method, route, status and duration', async () => {
    await test.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'line-check-0001' } });
    const lines = test.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['request_id'] === 'line-check-0001');
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line['method'], 'GET');
    assert.equal(line['route'], '/healthz');
    assert.equal(line['status'], 200);
    assert.equal(typeof line['duration_ms'], 'number');
  });
});
