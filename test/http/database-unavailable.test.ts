// A database that cannot be reached answers a retryable 503 in the problem shape, on any
// route, and leaves a warning naming the request and the kind of failure; nothing of the
// driver's message (host, port, socket path, SQL) reaches the client or the log line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { responses } from '../../src/core/http/problem.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('database unavailable', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      routes: (app) => {
        app.get('/refused', { config: { access: 'public' }, schema: { response: responses({ 200: Type.Object({}) }) } }, () => {
          throw Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432 /run/secret.sock'), { code: 'ECONNREFUSED', syscall: 'connect' });
        });
        app.get('/terminated', { config: { access: 'public' }, schema: { response: responses({ 200: Type.Object({}) }) } }, () => {
          throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' });
        });
      },
    });
  });
  after(() => test.close());

  for (const path of ['/refused', '/terminated']) {
    it(`${path}: 503 service_unavailable with Retry-After, and a warning with the request id`, async () => {
      const requestId = `db-down-${path.slice(1)}`;
      const response = await test.app.inject({ method: 'GET', url: path, headers: { 'x-request-id': requestId } });
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.match(String(response.headers['retry-after']), /^[1-5]$/);
      assert.deepEqual(response.json(), {
        type: 'urn:gatehouse:problem:service_unavailable',
        title: 'The service is temporarily unavailable.',
        status: 503,
        code: 'service_unavailable',
        request_id: requestId,
      });
      const lines = test.logs.filter((line) => line.includes(requestId));
      const warning = lines.find((line) => line.includes('"database unavailable"'));
      assert.ok(warning !== undefined, lines.join('\n'));
      assert.match(warning, /"level":"warn"/);
      assert.ok(!lines.some((line) => line.includes('"level":"error"')), 'an outage is not logged as an internal error');
      assert.doesNotMatch(lines.join('\n'), /10\.1\.2\.3|secret\.sock|administrator command/);
    });
  }
});
