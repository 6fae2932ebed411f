// A redis-server of a test's own, on a free port of 127.0.0.1, for fault tests that kill,
// freeze or restart it: the shared Redis is never touched. It persists nothing (no RDB,
// no AOF) and runs in the foreground as a child of the test process, so stopping the
// test stops it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './server-process.ts';

export interface ThrowawayRedis {
  readonly port: number;
  /** redis:// URL for it, with the password when one was asked for. */
  readonly url: string;
  /** Kills it at once (SIGKILL): connections drop as in a crash. */
  kill(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open but nothing is answered. */
  freeze(): void;
  /** Undoes freeze(). */
  thaw(): void;
  /** Starts it again on the same port (after kill), empty. */
  restart(): Promise<void>;
  /** Running (possibly frozen), not killed. */
  running(): boolean;
  /** Stops it for good; safe to call twice. */
  stop(): Promise<void>;
}

export interface ThrowawayRedisOptions {
  /** A port chosen beforehand (e.g. one a server was pointed at while nothing listened there). */
  readonly port?: number;
  /** Sets `requirepass`, so the URL carries a password (to check it never reaches a log). */
  readonly password?: string;
  /** How long to wait for it to answer PING; 10 s by default. */
  readonly startTimeoutMs?: number;
}

/** True when something on 127.0.0.1:port answers a Redis PING (authenticated or not). */
export function answersPing(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => { done(false); });
    socket.on('error', () => { done(false); });
    socket.on('connect', () => {
      socket.write(password === undefined ? 'PING\r\n' : `AUTH ${password}\r\nPING\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('+PONG')) done(true);
      else if (reply.includes('-')) done(false);
    });
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

export async function startThrowawayRedis(options: ThrowawayRedisOptions = {}): Promise<ThrowawayRedis> {
  const port = options.port ?? (await freePort());
  const requirePass = options.password;
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (requirePass !== undefined) args.push('--requirepass', requirePass);
  let child: ChildProcess | null = null;
  let output = '';

  async function launch(): Promise<void> {
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout.on('data', (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-4000); });
    started.stderr.on('data', (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-4000); });
    const failed = new Promise<never>((_resolve, reject) => {
      started.once('error', reject);
      started.once('exit', (code) => { reject(new Error(`redis-server exited (${String(code)}) before answering:\n${output}`)); });
    });
    failed.catch(() => undefined);
    await Promise.race([waitUntil(() => answersPing(port, requirePass), timeoutMs, `redis-server on port ${port}`), failed]);
  }

  async function kill(): Promise<void> {
    const running = child;
    child = null;
    if (running === null) return;
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await exited(running);
  }

  await launch();
  const auth = requirePass === undefined ? '' : `:${encodeURIComponent(requirePass)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    kill,
    freeze() { child?.kill('SIGSTOP'); },
    thaw() { child?.kill('SIGCONT'); },
    async restart() {
      await kill();
      await launch();
    },
    running: () => child !== null,
    stop: kill,
  };
}
