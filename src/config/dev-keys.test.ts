import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseMasterKeys } from '../core/crypto/master-key.ts';
import { appendDevelopmentMasterKey, ensureDevelopmentMasterKey } from './dev-keys.ts';

describe('development master key', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function freshDataDir(): Promise<string> {
    const base = await mkdtemp(join(tmpdir(), 'gh-dev-key-'));
    dirs.push(base);
    return join(base, 'data');
  }
  const now = (): Date => new Date('2025-03-04T23:59:00Z');

  it('creates DATA_DIR (0700) and a key file (0600) with a dev-<date> id', async () => {
    const dataDir = await freshDataDir();
    const keys = await ensureDevelopmentMasterKey(dataDir, { warn: () => undefined, now });
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.id, 'dev-20250304');
    assert.equal((await stat(join(dataDir, 'master.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    const parsed = parseMasterKeys(await readFile(join(dataDir, 'master.key'), 'utf8'));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.keys, keys);
  });

  it('returns the same key on the second call', async () => {
    const dataDir = await freshDataDir();
    const first = await ensureDevelopmentMasterKey(dataDir, { warn: () => undefined });
    const second = await ensureDevelopmentMasterKey(dataDir, { warn: () => undefined });
    assert.deepEqual(second, first);
  });

  it('warns exactly once per call, naming the file and that the key is for development only', async () => {
    const dataDir = await freshDataDir();
    const warnings: string[] = [];
    await ensureDevelopmentMasterKey(dataDir, { warn: (message) => warnings.push(message) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /development-only/);
    assert.ok(warnings[0]?.includes(join(dataDir, 'master.key')));
    await ensureDevelopmentMasterKey(dataDir, { warn: (message) => warnings.push(message) });
    assert.equal(warnings.length, 2);
  });

  it('appendDevelopmentMasterKey puts a new key first and keeps the old ones', async () => {
    const dataDir = await freshDataDir();
    const [original] = await ensureDevelopmentMasterKey(dataDir, { warn: () => undefined, now });
    const rotated = await appendDevelopmentMasterKey(dataDir, { now });
    assert.deepEqual(rotated.map((key) => key.id), ['dev-20250304-2', 'dev-20250304']);
    assert.deepEqual(rotated[1], original);
    assert.deepEqual(await ensureDevelopmentMasterKey(dataDir, { warn: () => undefined }), rotated);
    assert.equal((await stat(join(dataDir, 'master.key'))).mode & 0o777, 0o600);
  });
});
