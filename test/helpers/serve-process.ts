// `gatehouse serve` as an operator runs it: a child process configured only by its
// environment, with its own DATA_DIR (PGlite on disk) and port on 127.0.0.1. Fault tests
// use it to see what really reaches stdout and stderr while a dependency fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './throwaway-redis.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface ServeProcess {
  readonly baseURL: string;
  /** Every stdout line so far. */
  readonly stdout: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Still running (not crashed, not exited). */
  running(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; removes DATA_DIR. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

export async function startServeProcess(env: Record<string, string>, options: { startTimeoutMs?: number } = {}): Promise<ServeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gh-serve-'));
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', GATEHOUSE_ENV: 'development', LOG_LEVEL: 'info', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    stdout.push(...lines.filter((line) => line !== ''));
  });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!stdout.some((line) => line.includes('"gatehouse listening"'))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`gatehouse serve did not start:\n${stdout.join('\n')}\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    baseURL: `http://127.0.0.1:${port}`,
    stdout,
    stderr: () => stderr,
    running: () => child.exitCode === null && child.signalCode === null,
    stop,
  };
}
