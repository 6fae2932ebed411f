// In development the master key may be left unset: the server keeps a generated one in
// DATA_DIR/master.key so wrapped data survives restarts. It sits unencrypted on disk,
// so it is refused in production (see config.ts) and announced on every start.
import { randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMasterKeys, MASTER_KEY_BYTES, parseMasterKeys, type MasterKey } from '../core/crypto/master-key.ts';
import { ConfigError } from './config-error.ts';
import { errorCode } from './parse-values.ts';

export const DEVELOPMENT_KEY_FILE = 'master.key';

export interface DevelopmentKeyOptions {
  readonly warn: (message: string) => void;
  readonly now?: () => Date;
}

// Windows reports no POSIX permission bits and has no O_NOFOLLOW.
const POSIX = process.platform !== 'win32';

function refuseKeyFile(rule: string): never {
  throw new ConfigError([{ name: 'GATEHOUSE_MASTER_KEY', rule: `development key file ${rule}` }]);
}

async function openKeyFile(path: string): Promise<FileHandle | null> {
  try {
    // A symbolic link planted in DATA_DIR must not make the server load another file.
    return await open(path, constants.O_RDONLY | (POSIX ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return null;
    return refuseKeyFile(code === 'ELOOP' ? `${path} is a symbolic link; put the file itself there` : `${path} cannot be read (${code})`);
  }
}

/** The keyring in DATA_DIR/master.key, or null when there is none. */
async function readKeyFile(path: string): Promise<MasterKey[] | null> {
  const handle = await openKeyFile(path);
  if (handle === null) return null;
  try {
    // Checked on the open descriptor, so the file cannot be swapped between check and read.
    const info = await handle.stat();
    if (!info.isFile()) refuseKeyFile(`${path} is not a regular file`);
    if (POSIX && (info.mode & 0o077) !== 0) {
      refuseKeyFile(`${path} is accessible to group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    const parsed = parseMasterKeys(await handle.readFile('utf8'));
    if (!parsed.ok) refuseKeyFile(`${path}: ${parsed.problems.join('; ')}`);
    return [...parsed.keys];
  } finally {
    await handle.close();
  }
}

function keyId(now: Date, taken: readonly MasterKey[]): string {
  const base = `dev-${now.toISOString().slice(0, 10).replaceAll('-', '')}`;
  let id = base;
  for (let n = 2; taken.some((key) => key.id === id); n += 1) id = `${base}-${n}`;
  return id;
}

/** A complete keyring file under a temporary name, readable by the owner only. */
async function writeTemporary(dataDir: string, keys: readonly MasterKey[]): Promise<string> {
  const temporary = join(dataDir, `.${DEVELOPMENT_KEY_FILE}.${randomUUID()}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${formatMasterKeys(keys)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temporary;
}

// link() fails if the name exists: of two processes starting at once exactly one
// publishes its key, and the other never sees a half-written file.
async function publishExclusively(dataDir: string, path: string, keys: readonly MasterKey[]): Promise<boolean> {
  const temporary = await writeTemporary(dataDir, keys);
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

function warning(path: string, created: boolean): string {
  return `Using a development-only master key ${created ? 'generated now' : 'generated earlier'} and stored unencrypted in ${path}. ` +
    'Never use it for real data: in production set GATEHOUSE_MASTER_KEY (see .env.example).';
}

/** The keyring in DATA_DIR/master.key, or null when there is none; never creates one (`gatehouse doctor`). */
export async function readDevelopmentMasterKey(dataDir: string): Promise<MasterKey[] | null> {
  return readKeyFile(join(dataDir, DEVELOPMENT_KEY_FILE));
}

export async function ensureDevelopmentMasterKey(dataDir: string, options: DevelopmentKeyOptions): Promise<MasterKey[]> {
  const path = join(dataDir, DEVELOPMENT_KEY_FILE);
  let keys = await readKeyFile(path);
  let created = false;
  if (keys === null) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const fresh = [{ id: keyId(options.now?.() ?? new Date(), []), key: randomBytes(MASTER_KEY_BYTES) }];
    created = await publishExclusively(dataDir, path, fresh);
    keys = created ? fresh : await readKeyFile(path);
    if (keys === null) refuseKeyFile(`${path} disappeared while it was being created`);
  }
  options.warn(warning(path, created));
  return keys;
}

/** Puts a new key first in DATA_DIR/master.key (`keys rotate-master` in development). */
export async function appendDevelopmentMasterKey(dataDir: string, options: { readonly now?: () => Date } = {}): Promise<MasterKey[]> {
  const path = join(dataDir, DEVELOPMENT_KEY_FILE);
  const existing = (await readKeyFile(path)) ?? [];
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keys = [{ id: keyId(options.now?.() ?? new Date(), existing), key: randomBytes(MASTER_KEY_BYTES) }, ...existing];
  const temporary = await writeTemporary(dataDir, keys);
  try {
    // rename() replaces the file in one step: a reader sees the old keyring or the new one.
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return keys;
}
