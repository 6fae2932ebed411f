// The parent's side of the server child: fork it, start it, and watch its memory and CPU.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { privateDirectory } from '../../scripts/compile-cache.mjs';
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import { isChildMessage, type ChildMessage, type ParentMessage, type ReadyMessage, type ServerMemory, type StartMessage } from './protocol.ts';

const SERVER_ENTRY = new URL('./auth-server.ts', import.meta.url);
// The server's compile cache (its modules type-stripped and compiled, kept between runs):
// a directory of the checkout's own, used on the terms of the `gatehouse` command's
// (scripts/compile-cache.mjs): only if nobody else can write to it, since it holds code.
const COMPILE_CACHE = fileURLToPath(new URL('../../node_modules/.cache/bench-server-compile', import.meta.url));

function compileCacheEnv(): Record<string, string> {
  try {
    mkdirSync(COMPILE_CACHE, { recursive: true, mode: 0o700 });
  } catch {
    return {};
  }
  return privateDirectory(COMPILE_CACHE) ? { NODE_COMPILE_CACHE: COMPILE_CACHE } : {};
}

export interface ServerProcess {
  readonly pid: number;
  readonly ready: ReadyMessage;
  setBareBody(body: unknown): Promise<void>;
  memory(): Promise<ServerMemory>;
  stop(): Promise<void>;
}

export interface ForkOptions {
  /** Extra Node flags for the server, e.g. --cpu-prof. */
  readonly execArgv?: readonly string[];
}

function nextMessage(child: ChildProcess, timeoutMs: number): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      if (!isChildMessage(message)) return;
      cleanup();
      if (message.type === 'failed') reject(new Error(`server process failed: ${message.message}`));
      else resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`server process exited (code ${String(code)})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('server process did not answer in time'));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function request(child: ChildProcess, message: ParentMessage, timeoutMs: number): Promise<ChildMessage> {
  const answer = nextMessage(child, timeoutMs);
  child.send(message);
  return answer;
}

export async function startServerProcess(start: StartMessage, options: ForkOptions = {}): Promise<ServerProcess> {
  // Started as production starts the server (src/process-tuning.ts), then any extra flags.
  const child = fork(SERVER_ENTRY, [], {
    execArgv: [...process.execArgv, ...SERVER_NODE_FLAGS, ...(options.execArgv ?? [])],
    env: { ...process.env, ...SERVER_ENV, ...compileCacheEnv() },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server process');
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const ready = await request(child, start, 120_000);
    if (ready.type !== 'ready') throw new Error(`unexpected answer ${ready.type} to start`);
    return {
      pid,
      ready,
      async setBareBody(body) {
        await request(child, { type: 'bare-body', body }, 10_000);
      },
      async memory() {
        const answer = await request(child, { type: 'memory' }, 10_000);
        if (answer.type !== 'memory') throw new Error(`unexpected answer ${answer.type} to memory`);
        return answer.memory;
      },
      async stop() {
        try {
          if (child.connected) {
            const exited = once(child, 'exit');
            await request(child, { type: 'stop' }, 30_000);
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
          }
        } finally {
          await kill();
        }
      },
    };
  } catch (error) {
    await kill();
    throw error;
  }
}
