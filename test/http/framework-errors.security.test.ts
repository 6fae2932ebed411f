// Requests refused before any route is found, by Fastify's router (a path that is not
// valid percent-encoding, an over-long path parameter) or by Node's HTTP parser (headers
// over 16 KiB), over real sockets: each must still be problem+json with a stable code,
// never echo the raw path (a reflected `<script>`), carry the security headers and a
// request id, write a log line, and count against the rate limit, so a flood of
// malformed requests is throttled like any other.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly body: string;
}

/** Sends `request` as is on a fresh connection and reads the answer until the server closes. */
function rawRequest(baseURL: string, request: string): Promise<RawResponse> {
  const { port } = new URL(baseURL);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, body });
    });
  });
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
const oversizedHeaders = (): string => `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(17 * 1024)}\r\n\r\n`;

const CASES = [
  { name: 'a path that is not valid percent-encoding, with a reflected script', request: get('/%zz%3Cscript%3Ealert(1)%3C/script%3E'), status: 400, code: 'invalid_request', errors: [{ field: '/url', rule: 'encoding' }] },
  { name: 'a bad percent-encoding in a route parameter', request: get('/v1/admin/users/%ZZ'), status: 400, code: 'invalid_request', errors: [{ field: '/url', rule: 'encoding' }] },
  { name: 'a path parameter over the maximum length', request: get(`/v1/admin/users/${'a'.repeat(300)}`), status: 414, code: 'uri_too_long', errors: [{ field: '/params', rule: 'maxLength' }] },
  { name: 'headers over 16 KiB', request: oversizedHeaders(), status: 431, code: 'headers_too_large' },
] as const;

const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-resource-policy'];

describe('framework refusals over real HTTP', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ listen: true, env: { RATE_LIMIT_MAX: '100000' } });
  });
  after(() => test.close());

  for (const refusal of CASES) {
    it(`${refusal.name}: ${refusal.status} problem+json with security headers, a request id and a log line, echoing nothing`, async () => {
      const response = await rawRequest(test.baseURL, refusal.request);
      assert.equal(response.status, refusal.status, response.text.slice(0, 300));
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      const body = JSON.parse(response.body) as Record<string, unknown>;
      assert.equal(body['code'], refusal.code);
      assert.equal(body['status'], refusal.status);
      assert.deepEqual(body['errors'], 'errors' in refusal ? refusal.errors : undefined);
      assert.doesNotMatch(response.text, /script|%zz|%ZZ|aaaaaaaa|FST_|not a valid url/i, 'nothing of the raw request is echoed');
      for (const name of SECURITY_HEADERS) assert.ok(response.headers[name] !== undefined, `${name} is missing`);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['cache-control'], 'no-store');
      const requestId = response.headers['x-request-id'];
      assert.match(String(requestId), /^[0-9a-f-]{36}$/);
      assert.equal(body['request_id'], requestId);
      const line = test.logs.map((raw) => JSON.parse(raw) as Record<string, unknown>).find((entry) => entry['request_id'] === requestId && entry['msg'] === 'request');
      assert.ok(line !== undefined, 'the refusal is logged with its request id');
      assert.equal(line['status'], refusal.status);
      assert.equal(line['route'], 'unmatched');
      assert.doesNotMatch(JSON.stringify(line), /script|%zz/i);
    });
  }

  it('a well-formed inbound request id is kept on a refused path too', async () => {
    const response = await rawRequest(test.baseURL, `GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: trace-bad-url-0001\r\nConnection: close\r\n\r\n`);
    assert.equal(response.status, 400);
    assert.equal(response.headers['x-request-id'], 'trace-bad-url-0001');
  });
});

describe('framework refusals count against the rate limit', () => {
  const LIMIT = 8;
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ listen: true, env: { RATE_LIMIT_MAX: String(LIMIT) } });
  });
  after(() => test.close());

  it(`past ${LIMIT} requests a flood of bad paths, long parameters and oversized headers answers 429`, async () => {
    const flood = [get('/%zz'), get(`/v1/admin/users/${'a'.repeat(300)}`), oversizedHeaders()];
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i += 1) statuses.push((await rawRequest(test.baseURL, flood[i % flood.length]!)).status);
    assert.ok(statuses.every((status) => status !== 429), `refused too early: ${statuses.join(',')}`);
    for (const request of flood) {
      const response = await rawRequest(test.baseURL, request);
      assert.equal(response.status, 429, response.text.slice(0, 200));
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'rate_limited');
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      // The refusing limit is named, even on the socket: the global per-address one.
      assert.equal(response.headers['ratelimit-policy'], `"global";q=${LIMIT};w=60`);
      assert.equal(response.headers['ratelimit'], `"global";r=0;t=${String(response.headers['retry-after'])}`);
    }
    // ...and the budget they spent is the one ordinary requests draw from.
    assert.equal((await rawRequest(test.baseURL, get('/.well-known/jwks.json'))).status, 429);
  });
});

describe('behind a trusted proxy', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ listen: true, env: { RATE_LIMIT_MAX: '2', TRUST_PROXY: '1' } });
  });
  after(() => test.close());

  it("oversized headers are not counted against the proxy's address, which every client shares", async () => {
    for (let i = 0; i < 4; i += 1) assert.equal((await rawRequest(test.baseURL, oversizedHeaders())).status, 431);
    // Not /healthz: the probes draw on no budget, so only a limited route shows it unspent.
    assert.equal((await rawRequest(test.baseURL, get('/.well-known/jwks.json'))).status, 200);
  });
});
