// The documented nginx example (docs/examples/nginx.conf), run as written but for its
// ports and certificate paths, in front of Gatehouse with TRUST_PROXY=127.0.0.1: the API
// answers through nginx over TLS with HSTS, and a client that forges X-Forwarded-For does
// not get a budget of its own (nginx overwrites the header, Gatehouse believes only
// nginx), so its fourth request to /v1/auth is refused like anyone's. Needs nginx
// (`apt-get install nginx`; .ci/run installs it).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { makeCA, makeServerCertificate } from '../helpers/test-ca.ts';

const NGINX = '/usr/sbin/nginx';
const AUTH_LIMIT = 3;

function post(port: number, ca: string, path: string, headers: Record<string, string>): Promise<{ status: number; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 }, (response) => {
      response.resume();
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, hsts: response.headers['strict-transport-security'] });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify({ email: 'nobody@example.test', password: 'not the password at all' }));
  });
}

describe('Gatehouse behind the documented nginx', { timeout: 120_000 }, () => {
  let dir: string;
  let gatehouse: ServerProcess;
  let nginx: ChildProcess | undefined;
  let nginxPort: number;
  let ca: string;

  before(async () => {
    await access(NGINX).catch(() => assert.fail(`${NGINX} is missing: apt-get install -y nginx (.ci/run does it)`));
    dir = await mkdtemp(join(tmpdir(), 'gh-nginx-'));
    ca = await readFile((await makeCA(dir)).cert, 'utf8');
    const certificate = await makeServerCertificate(dir, 'proxy');
    nginxPort = await freePort();
    gatehouse = await startServer({ env: { TRUST_PROXY: '127.0.0.1', PUBLIC_URL: `https://localhost:${nginxPort}`, AUTH_RATE_LIMIT_MAX: String(AUTH_LIMIT), LOG_LEVEL: 'warn' }, until: 'ready' });
    const upstream = new URL(gatehouse.baseURL).port;
    const example = await readFile(new URL('../../docs/examples/nginx.conf', import.meta.url), 'utf8');
    const server = example
      .replace('listen 443 ssl;', `listen 127.0.0.1:${nginxPort} ssl;`)
      .replace('/etc/ssl/gatehouse/fullchain.pem', certificate.cert)
      .replace('/etc/ssl/gatehouse/privkey.pem', certificate.key)
      .replace('proxy_pass http://127.0.0.1:8080;', `proxy_pass http://127.0.0.1:${upstream};`);
    assert.notEqual(server, example);
    await mkdir(join(dir, 'logs'));
    await writeFile(join(dir, 'nginx.conf'), `pid ${join(dir, 'nginx.pid')};\nerror_log stderr warn;\nevents {}\nhttp {\n  access_log off;\n${server}\n}\n`);
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const up = await post(nginxPort, ca, '/v1/auth/password/forgot', {}).then(() => true, () => false);
      if (up) break;
      if (Date.now() > deadline || nginx.exitCode !== null) assert.fail(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  after(async () => {
    nginx?.kill('SIGTERM');
    await gatehouse.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the API through nginx over TLS; a forged X-Forwarded-For gets no budget of its own', async () => {
    // One request went through already (the start-up probe): the address has AUTH_LIMIT - 1 left.
    const statuses: number[] = [];
    for (let n = 0; n < AUTH_LIMIT; n += 1) {
      const answer = await post(nginxPort, ca, '/v1/auth/login', { 'x-forwarded-for': `203.0.113.${n + 10}` });
      statuses.push(answer.status);
      if (n === 0) assert.match(answer.hsts ?? '', /max-age=\d+/, 'HSTS, since PUBLIC_URL is https');
    }
    assert.deepEqual(statuses, [401, 401, 429]);
  });
});
