// Credential leakage through logs: a request carrying an Authorization header, a cookie
// and a password field leaves none of them in the captured output, even when a handler
// carelessly logs the whole request at depth.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { AppError } from '../../src/core/errors.ts';
import { responses } from '../../src/core/http/problem.ts';
import { isSecretKey, redactSecrets } from '../../src/core/logging.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('log redaction', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      routes: (app) => {
        app.post(
          '/v1/careless',
          {
            config: { access: 'public' },
            schema: {
              body: Type.Object(
                {
                  email: Type.String({ maxLength: 100 }),
                  password: Type.String({ maxLength: 100 }),
                  nested: Type.Object({ deeper: Type.Object({ refresh_token: Type.String({ maxLength: 100 }), code: Type.String({ maxLength: 100 }) }) }),
                },
                { additionalProperties: false },
              ),
              response: responses({ 204: Type.Null() }),
            },
          },
          async (request, reply) => {
            request.log.info({ headers: request.headers, body: request.body }, 'careless handler logs everything');
            return reply.code(204).send();
          },
        );
        app.get(
          '/v1/careless-refusal',
          { config: { access: 'public' }, schema: { response: responses({ 204: Type.Null() }) } },
          async (request) => {
            request.log.info({ query: request.query }, 'careless handler logs the query');
            throw new AppError('invalid_link', { detail: 'one-time code unknown' });
          },
        );
      },
    });
  });
  after(() => test.close());

  it('removes authorization, cookie and password-like fields at any depth', async () => {
    const secrets = {
      bearer: randomBytes(24).toString('base64url'),
      cookie: randomBytes(24).toString('base64url'),
      password: randomBytes(24).toString('base64url'),
      refresh: randomBytes(24).toString('base64url'),
      code: randomBytes(24).toString('base64url'),
    };
    const response = await test.app.inject({
      method: 'POST',
      url: '/v1/careless',
      headers: { authorization: `Bearer ${secrets.bearer}`, cookie: `session=${secrets.cookie}` },
      payload: { email: 'a@example.test', password: secrets.password, nested: { deeper: { refresh_token: secrets.refresh, code: secrets.code } } },
    });
    assert.equal(response.statusCode, 204);
    const output = test.logs.join('\n');
    assert.match(output, /careless handler logs everything/);
    assert.match(output, /a@example\.test/, 'non-secret fields are still logged');
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!output.includes(value), `${name} leaked into the log`);
    }
  });

  it('a request that fails validation does not log its body', async () => {
    const password = randomBytes(24).toString('base64url');
    await test.app.inject({ method: 'POST', url: '/v1/careless', payload: { password, unexpected: true } });
    assert.ok(!test.logs.join('\n').includes(password));
  });

  it('a refused request logs its error code, while a one-time code in the query stays out', async () => {
    const oneTimeCode = randomBytes(24).toString('base64url');
    const response = await test.app.inject({ method: 'GET', url: `/v1/careless-refusal?code=${oneTimeCode}`, headers: { 'x-request-id': 'refusal-code-0001' } });
    assert.equal(response.statusCode, 400);
    const lines = test.logs.filter((line) => line.includes('refusal-code-0001'));
    assert.ok(lines.some((line) => line.includes('"code":"invalid_link"') && line.includes('request refused')), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('careless handler logs the query') && line.includes('"code":"[redacted]"')));
    assert.ok(!test.logs.join('\n').includes(oneTimeCode), 'the one-time code leaked into the log');
  });

  it('an unknown verification or reset token is logged as invalid_link, and the token itself never', async () => {
    for (const [url, payload] of [
      ['/v1/auth/verify-email', (token: string) => ({ token })],
      ['/v1/auth/password/reset', (token: string) => ({ token, password: 'correct horse battery staple 42' })],
    ] as const) {
      const token = randomBytes(32).toString('base64url');
      const id = `token-log-${randomBytes(6).toString('hex')}`;
      const response = await test.app.inject({ method: 'POST', url, headers: { 'x-request-id': id }, payload: payload(token) });
      assert.equal(response.json<{ code: string }>().code, 'invalid_link', url);
      await test.settle();
      assert.ok(test.logs.some((line) => line.includes(id) && line.includes('"code":"invalid_link"')), `${url}: the error code is logged`);
      assert.ok(!test.logs.join('\n').includes(token), `${url}: the token leaked into the log`);
    }
  });

  it('keeps the error code at the top of a line and redacts code anywhere below it', () => {
    const out = redactSecrets({ code: 'ECONNREFUSED', body: { code: 'one-time' }, query: { Code: 'x' } });
    assert.equal(out['code'], 'ECONNREFUSED');
    assert.deepEqual(out['body'], { code: '[redacted]' });
    assert.deepEqual(out['query'], { Code: '[redacted]' });
  });

  it('redacts by normalized key name and survives cycles', () => {
    const cyclic: Record<string, unknown> = { 'Set-Cookie': 'a', refreshToken: 'b', client_secret: 'c', safe: 'd' };
    cyclic['self'] = cyclic;
    const out = redactSecrets(cyclic);
    assert.equal(out['Set-Cookie'], '[redacted]');
    assert.equal(out['refreshToken'], '[redacted]');
    assert.equal(out['client_secret'], '[redacted]');
    assert.equal(out['safe'], 'd');
    assert.equal(out['self'], '[circular]');
  });
  // Answers are remembered per key (at most 2,048 keys of up to 64 characters): the
  // second answer must be the first, and keys past those bounds are still judged.
  it('answers the same for a key seen before, and judges keys it does not remember', () => {
    for (let round = 0; round < 2; round += 1) {
      assert.equal(isSecretKey('Refresh-Token'), true);
      assert.equal(isSecretKey('method'), false);
    }
    for (let index = 0; index < 2100; index += 1) assert.equal(isSecretKey(`field_${String(index)}`), false);
    assert.equal(isSecretKey('new_password'), true);
    assert.equal(isSecretKey('PASSWORD'), true);
    const long = 'x'.repeat(70);
    assert.equal(isSecretKey(long), false);
    assert.deepEqual(redactSecrets({ nested: { 'API-Key': 'k', [long]: 'v' } })['nested'], { 'API-Key': '[redacted]', [long]: 'v' });
  });
});
