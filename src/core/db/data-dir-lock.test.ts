import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.ts';
import { openDatabase } from './database.ts';

describe('the embedded data directory lock', { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-lock-'));
  });
  after(async () => {
    for (const path of [dir, `${dir}.lock-id`]) await rm(path, { recursive: true, force: true });
  });

  it('a second opener of the same directory is refused at once, also by another path to it', async () => {
    const lock = await lockDataDir(dir);
    await assert.rejects(lockDataDir(dir), DataDirInUseError);
    const alias = `${dir}-alias`;
    await symlink(dir, alias);
    try {
      await assert.rejects(lockDataDir(alias), DataDirInUseError);
    } finally {
      await rm(alias);
    }
    await lock.release();
    const again = await lockDataDir(dir);
    await again.release();
  });

  it('another local user cannot hold the lock first: its name needs a secret only the owner can read', async () => {
    const squatted = join(dir, 'squatted');
    await mkdir(squatted);
    // All an outsider can learn is the directory's device and inode.
    const info = await stat(squatted, { bigint: true });
    const guess = `\0gatehouse-data-dir-${createHash('sha256').update(`${info.dev}:${info.ino}`).digest('hex').slice(0, 32)}`;
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ path: guess, exclusive: true }, resolve));
    try {
      const lock = await lockDataDir(squatted);
      await lock.release();
      assert.equal((await stat(`${squatted}.lock-id`)).mode & 0o777, 0o600);
    } finally {
      squatter.close();
    }
  });

  it('openDatabase refuses a directory another opener holds, and frees it on close', async () => {
    const data = join(dir, 'db');
    const first = await openDatabase({ engine: 'pglite', dataDir: data });
    await assert.rejects(openDatabase({ engine: 'pglite', dataDir: data }), /is in use by another Gatehouse process/);
    await first.close();
    const second = await openDatabase({ engine: 'pglite', dataDir: data });
    await second.close();
  });

  it('a process killed with SIGKILL leaves no lock behind', async () => {
    const holderDir = join(dir, 'killed');
    const script = `import { lockDataDir } from ${JSON.stringify(new URL('./data-dir-lock.ts', import.meta.url).pathname)};
      import { mkdir } from 'node:fs/promises';
      await mkdir(${JSON.stringify(holderDir)}, { recursive: true });
      await lockDataDir(${JSON.stringify(holderDir)});
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      child.on('exit', () => { reject(new Error('holder exited early')); });
    });
    await assert.rejects(lockDataDir(holderDir), DataDirInUseError, 'held by the other process');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const lock = await lockDataDir(holderDir);
    await lock.release();
  });
});
