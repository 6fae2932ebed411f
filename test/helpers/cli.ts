// Runs the `gatehouse` command as an operator does (test/cli): a child process with only
// PATH and the environment given, from an empty working directory of its own, since the
// CLI reads `.env` from there and a developer's `.env` must never leak into the tests.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandRun } from './server-process.ts';

export const EMPTY_DIR = await mkdtemp(join(tmpdir(), 'gh-cli-cwd-'));

export function run(args: string[], env: Record<string, string>, stdin?: string, cwd: string = EMPTY_DIR): Promise<CommandRun> {
  return runCommand(args, stdin === undefined ? { env, cwd } : { env, cwd, stdin });
}
