// `gatehouse serve` as a child process, as in production: configured only by its
// environment, and an unhandled 'error' event or rejection really ends it, which a test can
// then see. What it writes is kept for asserts: stdout line by line (each must be a JSON
// log line), stderr on its own, and both together in the order they came.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';

export const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const REQUEST_TIMEOUT_MS = 10_000;
// Longer than the server's own shutdown deadline (SHUTDOWN_TIMEOUT_SECONDS, 10 s by
// default), so a server that overruns it exits 1 by itself before it is killed.
const KILL_AFTER_MS = 15_000;

export interface CommandRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A one-shot `gatehouse <args>` to its end, with only PATH and `env` in its environment. */
export function runCommand(args: readonly string[], options: { readonly env: Record<string, string>; readonly cwd: string; readonly stdin?: string }): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, ...args], { cwd: options.cwd, env: { PATH: process.env['PATH'] ?? '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
    child.stdin.end(options.stdin ?? '');
  });
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  code: unknown;
  ms: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartServerOptions {
  /**
   * On top of PATH, GATEHOUSE_ENV=development, HOST=127.0.0.1, LOG_LEVEL=info and
   * DATA_DIR. Without a DATA_DIR here the server gets an empty one of its own, removed by
   * stop(); a DATA_DIR given here is left as it is.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** A port chosen beforehand (PORT, whatever env says); a free one of 127.0.0.1 otherwise. */
  readonly port?: number;
  /**
   * The working directory, whose `.env` the server reads. By default the server's own
   * temp directory, so a developer's `.env` never reaches a test.
   */
  readonly cwd?: string;
  /**
   * What counts as started: `listening`, the "gatehouse listening" log line (needs
   * LOG_LEVEL info or lower; comes even while a dependency is down), or `ready`, /readyz
   * answering 200. `listening` by default.
   */
  readonly until?: 'listening' | 'ready';
  /** 30 s by default. */
  readonly startTimeoutMs?: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

/** Starts `gatehouse serve` and waits until it has started; a failed start is stopped and thrown. */
export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const home = await mkdtemp(join(tmpdir(), 'gh-serve-'));
  const port = options.port ?? (await freePort());
  const env = { PATH: process.env['PATH'] ?? '', GATEHOUSE_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: home, ...options.env, PORT: String(port) };
  const server = new ServerProcess({ env, cwd: options.cwd ?? home, port, home });
  try {
    await server.waitUntilStarted(options.until ?? 'listening', options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

export class ServerProcess {
  readonly baseURL: string;
  /** The DATA_DIR it runs with (its development mail outbox is `outbox/` there). */
  readonly dataDir: string;
  /** Every complete stdout line so far. */
  readonly stdout: string[] = [];
  #stderr = '';
  #output = '';
  #partial = '';
  #exit: Exit | null = null;
  #stopped: Promise<Exit> | null = null;
  readonly #closed: Promise<Exit>;
  readonly #child: ChildProcess;
  readonly #home: string;

  constructor(options: { env: Record<string, string>; cwd: string; port: number; home: string }) {
    this.baseURL = `http://127.0.0.1:${options.port}`;
    this.dataDir = options.env['DATA_DIR'] ?? options.home;
    this.#home = options.home;
    // With the flags the `gatehouse` command runs with (bin/gatehouse.mjs).
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, 'serve'], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#output += text;
      const lines = (this.#partial + text).split('\n');
      this.#partial = lines.pop() ?? '';
      this.stdout.push(...lines.filter((line) => line !== ''));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#stderr += text;
      this.#output += text;
    });
    child.on('exit', (code, signal) => {
      this.#exit = { code, signal };
    });
    // 'close' comes once its output is all read, so what stop() returns to is complete.
    this.#closed = new Promise((resolve) => {
      child.on('close', (code, signal) => { resolve({ code, signal }); });
      child.on('error', (error) => {
        this.#output += `spawn failed: ${error.message}\n`;
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
      });
    });
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** stdout and stderr together, in the order they came. */
  get output(): string {
    return this.#output;
  }

  /** How it ended, or null while it runs. */
  get exit(): Exit | null {
    return this.#exit;
  }

  /** Still running: neither crashed nor exited. */
  running(): boolean {
    return this.#exit === null;
  }

  /** Resolves once started as startServer() defines it; throws if it exits or the time runs out first. */
  async waitUntilStarted(until: 'listening' | 'ready', timeoutMs: number): Promise<void> {
    const started = until === 'listening'
      ? async (): Promise<boolean> => this.stdout.some((line) => line.includes('"gatehouse listening"'))
      : async (): Promise<boolean> => (await fetch(`${this.baseURL}/readyz`).catch(() => null))?.status === 200;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await started()) return;
      if (this.#exit !== null) throw new Error(`gatehouse serve exited at start:\n${this.#output}`);
      if (Date.now() > deadline) throw new Error(`gatehouse serve did not start within ${timeoutMs} ms:\n${this.#output}`);
      await sleep(50);
    }
  }

  assertAlive(): void {
    assert.equal(this.#exit, null, `the server exited:\n${this.#output.slice(-3000)}`);
    assert.doesNotMatch(this.#output, /Unhandled 'error' event|uncaught|unhandled/i, this.#output.slice(-3000));
  }

  /**
   * SIGTERM, then SIGKILL if it is still running after the server's own shutdown deadline;
   * removes its own DATA_DIR. Resolves to how it ended, once its output is all read; safe
   * to call twice.
   */
  stop(): Promise<Exit> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** SIGKILL at once, as a crash would end it: nothing gets to shut down. Then as stop(). */
  /** Sends a signal (SIGHUP: reload the TLS certificate). */
  signal(name: NodeJS.Signals): void {
    this.#child.kill(name);
  }

  kill(): Promise<Exit> {
    if (this.#exit === null) this.#child.kill('SIGKILL');
    return this.stop();
  }

  async #stop(): Promise<Exit> {
    if (this.#exit === null) this.#child.kill('SIGTERM');
    const killer = setTimeout(() => this.#child.kill('SIGKILL'), KILL_AFTER_MS);
    const exit = await this.#closed;
    clearTimeout(killer);
    await rm(this.#home, { recursive: true, force: true });
    return exit;
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
