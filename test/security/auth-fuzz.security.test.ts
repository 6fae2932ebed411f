// Property tests at the account endpoints: whatever arrives (random JSON, random keys,
// wrong types, huge or deeply nested values, bodies that are not JSON at all) the answer
// is never a 5xx, always a problem document or a documented success, and never leaks a
// stack trace, an error message or a file path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { testEngines, type TestDatabase } from '../helpers/database.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { strongPassword, tokenFromMail, uniqueEmail } from '../helpers/http.ts';

const NUM_RUNS = 60;

interface Route {
  readonly method: 'POST' | 'PATCH';
  readonly url: string;
  readonly fields: readonly string[];
  readonly success: number;
  /** The request carries a bearer token: one long-lived session, or a fresh one each time. */
  readonly session?: 'patch' | 'logout';
}

const ROUTES: readonly Route[] = [
  { method: 'POST', url: '/v1/auth/register', fields: ['email', 'password', 'name'], success: 202 },
  { method: 'POST', url: '/v1/auth/verify-email', fields: ['token'], success: 200 },
  { method: 'POST', url: '/v1/auth/verify-email/resend', fields: ['email'], success: 202 },
  { method: 'POST', url: '/v1/auth/login', fields: ['email', 'password'], success: 200 },
  { method: 'POST', url: '/v1/auth/refresh', fields: ['refresh_token'], success: 200 },
  { method: 'POST', url: '/v1/auth/logout', fields: [], success: 204, session: 'logout' },
  { method: 'POST', url: '/v1/auth/password/forgot', fields: ['email'], success: 202 },
  { method: 'POST', url: '/v1/auth/password/reset', fields: ['token', 'password'], success: 204 },
  { method: 'PATCH', url: '/v1/me', fields: ['name'], success: 200, session: 'patch' },
];

const PROBLEM_KEYS = new Set(['type', 'title', 'status', 'code', 'request_id', 'errors', 'suggestions']);
const LEAKS: readonly [string, RegExp][] = [
  ['a stack frame', /\bat \S+ \(|\bat (?:file|node):|\.[cm]?[jt]s:\d+:\d+/],
  ['an error message', /Error:|\w+Error\b/],
  ['a file path', /\/work\/|node_modules|\/src\/|\.ts:\d+|\.js:\d+|file:\/\//],
];

interface Sent {
  readonly payload: string | undefined;
  readonly contentType: string | undefined;
}

const json = (value: unknown): Sent => ({ payload: JSON.stringify(value), contentType: 'application/json' });

const hugeString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1_000, max: 120_000 }))
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));

const plausibleValue = fc.oneof(
  fc.emailAddress(),
  fc.constant(strongPassword()),
  fc.stringMatching(/^(ghr_)?[A-Za-z0-9_-]{43}$/),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
);

const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}, [''], ['a', 'b'], { $gt: '' }, '', ' ', '\u0000'),
  hugeString,
);

function shapedBody(fields: readonly string[]): fc.Arbitrary<Sent> {
  const value = fc.oneof(plausibleValue, wrongValue);
  const known = fields.length === 0 ? fc.constant({}) : fc.record(Object.fromEntries(fields.map((field) => [field, value])), { requiredKeys: [] });
  return fc
    .tuple(known, fc.option(fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { nil: undefined }))
    .map(([base, extra]) => json({ ...extra, ...base }));
}

const nested = fc
  .tuple(fc.integer({ min: 10, max: 20_000 }), fc.constantFrom('array', 'object'))
  .map(([depth, kind]): Sent => ({
    payload: kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    contentType: 'application/json',
  }));

const notJSON = fc
  .tuple(
    fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('', '{', '{"email":', 'null', '"x"', '[1,', 'email=a@b.c&password=x', '\u0000\u0001')),
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/xml',
      undefined,
    ),
  )
  .map(([payload, contentType]): Sent => ({ payload, contentType }));

// Values that pass the schema, so the handlers themselves (hashing, lookups, lockout,
// token parsing, encryption) see random input too, not only the validator.
const FIELD_VALUES: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  email: fc.oneof(fc.emailAddress(), fc.emailAddress().map((email) => email.toUpperCase()), fc.constant('fuzz@example.test')),
  password: fc.oneof(fc.constant(strongPassword()), fc.string({ unit: 'binary', minLength: 1, maxLength: 1024 }), fc.string({ minLength: 12, maxLength: 80 })),
  name: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), fc.constant(null)),
  token: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.string({ unit: 'binary', minLength: 1, maxLength: 128 })),
  refresh_token: fc.oneof(fc.stringMatching(/^ghr_[A-Za-z0-9_-]{43}$/), fc.string({ unit: 'binary', minLength: 1, maxLength: 128 })),
};

function plausibleBody(fields: readonly string[]): fc.Arbitrary<Sent> {
  return fc.record(Object.fromEntries(fields.map((field) => [field, FIELD_VALUES[field] ?? fc.string()]))).map(json);
}

function bodies(route: Route): fc.Arbitrary<Sent> {
  return fc.oneof(
    { weight: 4, arbitrary: plausibleBody(route.fields) },
    { weight: 2, arbitrary: shapedBody(route.fields) },
    { weight: 1, arbitrary: fc.jsonValue().map(json) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 2 })).map(json) },
    { weight: 1, arbitrary: nested },
    { weight: 1, arbitrary: notJSON },
    { weight: 1, arbitrary: fc.constant<Sent>({ payload: undefined, contentType: undefined }) },
  );
}

function assertSafeAnswer(route: Route, status: number, headers: Record<string, unknown>, text: string): void {
  const where = `${route.method} ${route.url} -> ${status} ${text.slice(0, 300)}`;
  assert.ok(status < 500, where);
  for (const [what, pattern] of LEAKS) assert.doesNotMatch(text, pattern, `${what} in ${where}`);
  const rawType = headers['content-type'];
  const contentType = typeof rawType === 'string' ? rawType : '';
  if (status >= 400) {
    assert.match(contentType, /^application\/problem\+json/, where);
    const problem = JSON.parse(text) as Record<string, unknown>;
    assert.ok(Object.keys(problem).every((key) => PROBLEM_KEYS.has(key)), where);
    assert.ok(typeof problem['code'] === 'string' && problem['code'] in ERROR_CODES, where);
    assert.equal(problem['status'], status, where);
    assert.equal(typeof problem['request_id'], 'string', where);
    return;
  }
  assert.equal(status, route.success, where);
  if (status !== 204) {
    assert.match(contentType, /^application\/json/, where);
    assert.equal(typeof JSON.parse(text), 'object', where);
  }
}

for (const engine of testEngines()) {
  describe(`malformed input at the account endpoints on ${engine.engine}`, () => {
    let test: TestDatabase;
    let app: TestApp;
    let patchToken = '';
    let newAccessToken: () => Promise<string> = () => Promise.reject(new Error('not set up'));

    before(async () => {
      test = await engine.open();
      app = await startTestApp({
        database: test.database,
        env: { AUTH_RATE_LIMIT_MAX: '100000', AUTH_ACCOUNT_RATE_LIMIT_MAX: '10000', RATE_LIMIT_MAX: '100000', LOCKOUT_THRESHOLD: '100' },
      });
      const email = uniqueEmail('fuzz');
      const password = strongPassword();
      const post = async (url: string, payload: unknown): Promise<Record<string, unknown>> => {
        const response = await app.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
        assert.ok(response.statusCode < 300, response.body);
        return response.body === '' ? {} : response.json<Record<string, unknown>>();
      };
      await post('/v1/auth/register', { email, password });
      await app.settle();
      await post('/v1/auth/verify-email', { token: tokenFromMail(app.mails, email, /Confirm your email/) });
      newAccessToken = async () => String((await post('/v1/auth/login', { email, password }))['access_token']);
      patchToken = await newAccessToken();
    });
    after(async () => {
      await app.close();
      await test.cleanup();
    });

    for (const route of ROUTES) {
      it(`random and malformed bodies at ${route.method} ${route.url} never cause a 5xx or leak internals`, async (t) => {
        const seen = new Map<number, number>();
        await fc.assert(
          fc.asyncProperty(bodies(route), async (sent) => {
            const headers: Record<string, string> = {};
            if (sent.contentType !== undefined) headers['content-type'] = sent.contentType;
            if (route.session === 'logout') headers['authorization'] = `Bearer ${await newAccessToken()}`;
            if (route.session === 'patch') headers['authorization'] = `Bearer ${patchToken}`;
            const response = await app.app.inject({
              method: route.method,
              url: route.url,
              headers,
              ...(sent.payload === undefined ? {} : { payload: sent.payload }),
            });
            seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
            assertSafeAnswer(route, response.statusCode, response.headers, response.body);
          }),
          { numRuns: NUM_RUNS },
        );
        t.diagnostic(`statuses: ${[...seen].sort(([a], [b]) => a - b).map(([status, count]) => `${status}x${count}`).join(' ')}`);
        await app.settle();
        // Nothing went wrong quietly either: no request ended in an unexpected error.
        assert.ok(!app.logs.some((line) => line.includes('"level":50')), 'an error was logged');
      });
    }
  });
}
