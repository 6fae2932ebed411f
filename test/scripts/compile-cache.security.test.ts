// The compile cache holds code the process runs: planted in a directory another user can
// write to, it would run as Gatehouse. Only a private directory of the user is used.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
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
  // The container's case (Dockerfile): the image's build fills the cache as the service
  // user, then hands it to root with the code. The service user must then start from it,
  // read-only, and a copy others can write to must still be refused. Needs root (chown,
  // and running the child as another user).
  const SERVICE = 1000;
  const runsAs = (uid: number): boolean => spawnSync(process.execPath, ['-e', ''], { uid, gid: uid, cwd: tmpdir() }).status === 0;
  const asRoot =
    process.getuid?.() !== 0 ? 'needs root, to hand the cache to root and run as another user' : runsAs(SERVICE) ? false : `uid ${SERVICE} cannot run ${process.execPath} here (a directory above it is private)`;
  it('a cache made for the service user and handed to root serves that user, read-only', { skip: asRoot }, async () => {
    const app = join(root, 'app');
    await mkdir(app);
    await chmod(root, 0o755);
    await copyFile(join(import.meta.dirname, '../../scripts/compile-cache.mjs'), join(app, 'compile-cache.mjs'));
    await writeFile(join(app, 'b.ts'), 'export const b: number = 2;\n');
    await writeFile(join(app, 'a.ts'), "import { b } from './b.ts';\nexport const a: number = b + 1;\n");
    await writeFile(
      join(app, 'start.mjs'),
      "import { enableCompileCacheSafely } from './compile-cache.mjs';\nconst used = enableCompileCacheSafely(new URL('./cache/', import.meta.url));\nconst { a } = await import('./a.ts');\nconsole.log(JSON.stringify({ used, a, stripped: process.moduleLoadList.some((name) => name.includes('amaro')) }));\n",
    );
    for (const file of await readdir(app)) await chmod(join(app, file), 0o644);
    await chmod(app, 0o755);
    const cache = join(app, 'cache');
    await mkdir(cache, { mode: 0o700 });
    const startAsService = (): { used: boolean; a: number; stripped: boolean } => {
      const result = spawnSync(process.execPath, [join(app, 'start.mjs')], { encoding: 'utf8', uid: SERVICE, gid: SERVICE, cwd: app, env: { PATH: process.env['PATH'] ?? '' } });
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as { used: boolean; a: number; stripped: boolean };
    };
    // Built: the service user fills its own cache.
    await chown(cache, SERVICE, SERVICE);
    assert.deepEqual(startAsService(), { used: true, a: 3, stripped: true });
    // Handed to root, readable by all, writable by root alone: used, nothing stripped again.
    const handToRoot = async (directory: string, mode: number): Promise<void> => {
      await chown(directory, 0, 0);
      await chmod(directory, mode);
      for (const entry of await readdir(directory, { withFileTypes: true })) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) await handToRoot(path, 0o755);
        else {
          await chown(path, 0, 0);
          await chmod(path, 0o644);
        }
      }
    };
    await handToRoot(cache, 0o755);
    assert.deepEqual(startAsService(), { used: true, a: 3, stripped: false });
    // The same, writable by its group: refused, so the modules are stripped afresh.
    await chmod(cache, 0o775);
    assert.deepEqual(startAsService(), { used: false, a: 3, stripped: true });
  });
});
