// Runs the `gatehouse` command as an operator does: a child process with only the
// environment given, from a working directory of its own (test/cli).
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from '../../src/process-tuning.ts';
import { MAIN } from './server-process.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The CLI reads `.env` from its working directory: every run gets an empty one of its
// own unless a test names another, so a developer's `.env` never leaks into the tests.
export const EMPTY_DIR = await mkdtemp(join(tmpdir(), 'gh-cli-cwd-'));

export function run(args: string[], env: Record<string, string>, stdin?: string, cwd: string = EMPTY_DIR): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
    child.stdin.end(stdin ?? '');
  });
}
