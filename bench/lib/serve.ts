// Starting the server as `npm start` does, for the benchmarks that measure a real process:
// a free loopback port, a development environment with nothing from the caller, and
// waiting for /readyz.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { SERVER_ENV } from '../../src/process-tuning.ts';

const READY_TIMEOUT_MS = 120_000;
const POLL_MS = 25;

/** `--server-node-options "--a --b=1"`: Node flags for the server, each --name[=value]. */
export function nodeFlags(raw: string): string[] {
  const flags = raw.split(' ').filter((flag) => flag !== '');
  const wrong = flags.filter((flag) => !flag.startsWith('--'));
  if (wrong.length > 0) throw new Error(`--server-node-options takes Node flags (--name[=value]), not ${wrong.join(' ')}`);
  return flags;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

// Only what a development start needs: no DATABASE_URL, REDIS_URL or key from the caller.
export function serverEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? tmpdir(),
    GATEHOUSE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...SERVER_ENV,
  };
}

async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function waitReady(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before ready (code ${String(child.exitCode)})`);
    if (await isReady(port)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error('server not ready in time');
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

