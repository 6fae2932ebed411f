// The built-in HTTPS listener (TLS_CERT_FILE / TLS_KEY_FILE), with a certificate authority
// made in the test (openssl, loopback only): clients that trust the CA get the API over
// TLS with HSTS; a client offering only TLS 1.1, or only suites without forward secrecy,
// is refused; and a renewed certificate is served after SIGHUP to new connections while a
// connection opened before goes on undisturbed.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { makeCA, makeServerCertificate } from '../helpers/test-ca.ts';

interface Reply {
  readonly status: number;
  readonly subject: string;
  readonly protocol: string | null;
  readonly hsts: string | undefined;
}

function get(port: number, options: { ca: string; agent?: Agent; maxVersion?: 'TLSv1.1' | 'TLSv1.2'; ciphers?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path: '/healthz', method: 'GET', ca: options.ca, agent: options.agent ?? false, ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion, minVersion: 'TLSv1' }), ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }), timeout: 10_000 },
      (response) => {
        const socket = response.socket;
        if (!(socket instanceof TLSSocket)) {
          reject(new Error('not a TLS socket'));
          return;
        }
        const subject = String(socket.getPeerCertificate().subject.CN);
        response.resume();
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, subject, protocol: socket.getProtocol(), hsts: response.headers['strict-transport-security'] });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('HTTPS served by Gatehouse itself', () => {
  let dir: string;
  let server: ServerProcess;
  let port: number;
  let ca: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-tls-'));
    await makeCA(dir);
    await makeServerCertificate(dir, 'first');
    await makeServerCertificate(dir, 'second');
    await copyFile(join(dir, 'first.crt'), join(dir, 'tls.crt'));
    await copyFile(join(dir, 'first.key'), join(dir, 'tls.key'));
    ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    port = await freePort();
    server = await startServer({ port, env: { TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'tls.key'), PUBLIC_URL: `https://127.0.0.1:${port}` } });
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers over TLS 1.2+ with HSTS to a client that trusts the CA', async () => {
    const reply = await get(port, { ca });
    assert.equal(reply.status, 200);
    assert.equal(reply.subject, '127.0.0.1 first');
    // The same client limited to TLS 1.2 with forward-secret suites is served too.
    assert.equal((await get(port, { ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).protocol, 'TLSv1.2');
    assert.ok(reply.protocol === 'TLSv1.3' || reply.protocol === 'TLSv1.2', String(reply.protocol));
    assert.match(reply.hsts ?? '', /max-age=\d+/);
  });

  it('refuses a client limited to TLS 1.1, and a TLS 1.2 client offering only suites without forward secrecy', async () => {
    await assert.rejects(get(port, { ca, maxVersion: 'TLSv1.1' }));
    await assert.rejects(get(port, { ca, maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:AES256-SHA' }), (error: Error) => /handshake|alert|cipher|ECONNRESET/i.test(error.message), 'no shared cipher');
  });

  it('serves a renewed certificate after SIGHUP to new connections, while an open one goes on', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await get(port, { ca, agent: keepAlive })).subject, '127.0.0.1 first');
      await copyFile(join(dir, 'second.crt'), join(dir, 'tls.crt'));
      await copyFile(join(dir, 'second.key'), join(dir, 'tls.key'));
      server.signal('SIGHUP');
      const deadline = Date.now() + 10_000;
      while (!server.stdout.some((line) => line.includes('TLS certificate reloaded')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(server.stdout.some((line) => line.includes('TLS certificate reloaded')), 'the reload is logged');
      assert.equal((await get(port, { ca })).subject, '127.0.0.1 second', 'a new connection gets the renewed certificate');
      const reused = await get(port, { ca, agent: keepAlive });
      assert.deepEqual({ status: reused.status, subject: reused.subject }, { status: 200, subject: '127.0.0.1 first' }, 'the open connection went on');
    } finally {
      keepAlive.destroy();
    }
  });
});
