// The compile cache holds code the process runs: planted in a directory another user can
// write to, it would run as Gatehouse. Only a private directory of the user is used.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { privateDirectory as isPrivate } from '../../scripts/compile-cache.mjs';
const root = await mkdtemp(join(tmpdir(), 'gh-compile-cache-'));
after(() => rm(root, { recursive: true, force: true }));

describe('compile cache directory', { timeout: 60_000 }, () => {
  it('a directory others can write to is not used; a symlink is not followed; a 0700 directory of this user is', async () => {
    const open = join(root, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    assert.equal(isPrivate(open), false);
    const group = join(root, 'group');
    await mkdir(group);
    await chmod(group, 0o770);
    assert.equal(isPrivate(group), false);
    const own = join(root, 'own');
    await mkdir(own, { mode: 0o700 });
    assert.equal(isPrivate(own), true);
    const link = join(root, 'link');
    await symlink(own, link);
    assert.equal(isPrivate(link), false);
    assert.equal(isPrivate(join(root, 'missing')), false);
  });

  it('a run fills the private cache, and a world-writable one stays empty', async () => {
    const script = (directory: string): string => `import { enableCompileCacheSafely } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../scripts/compile-cache.mjs')).href)};
      const used = enableCompileCacheSafely(new URL(${JSON.stringify(pathToFileURL(directory).href)}));
      await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/core/password/hash-slots.ts')).href)});
      console.log(used);`;
    const run = (directory: string): string => {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script(directory)], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.trim();
    };
    const fresh = join(root, 'fresh');
    assert.equal(run(fresh), 'true');
    assert.ok((await readdir(fresh, { recursive: true })).length > 0, 'nothing was cached');
    const shared = join(root, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    assert.equal(run(shared), 'false');
    assert.deepEqual(await readdir(shared), []);
  });
});
