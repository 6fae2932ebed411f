// `gatehouse serve` as a child process, as in production: an unhandled 'error' event or
// rejection really ends it, which a fault test can then see. Output is kept for asserts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const REQUEST_TIMEOUT_MS = 10_000;

export interface Answer {
  status: number;
  retryAfter: string | null;
  code: unknown;
  ms: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export class ServerProcess {
  output = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly #child: ChildProcess;
  readonly baseURL: string;

  constructor(env: Record<string, string>, port: number) {
    this.baseURL = `http://127.0.0.1:${port}`;
    this.#child = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.#child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.#child.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
  }

  async waitListening(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.exit !== null) throw new Error(`server exited at start:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`server did not start:\n${this.output}`);
      const ready = await fetch(`${this.baseURL}/readyz`).catch(() => null);
      if (ready?.status === 200) return;
      await sleep(100);
    }
  }

  assertAlive(): void {
    assert.equal(this.exit, null, `the server exited:\n${this.output.slice(-3000)}`);
    assert.doesNotMatch(this.output, /Unhandled 'error' event|uncaught|unhandled/i, this.output.slice(-3000));
  }

  async stop(): Promise<void> {
    if (this.exit !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    const killer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }

  async request(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Answer & { json: Record<string, unknown> }> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const started = Date.now();
    const response = await fetch(`${this.baseURL}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    const json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), code: json['code'], ms: Date.now() - started, json };
  }
}
