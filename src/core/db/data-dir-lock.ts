// One process per embedded data directory. PGlite keeps the database in memory and
// writes it back to DATA_DIR; a second process opening the same directory (the CLI while
// `serve` runs) works on its own copy, and whichever writes last silently discards the
// other's changes. So the first opener takes an exclusive lock and every later one is
// refused at once.
//
// The lock is a listening socket in Linux's abstract namespace, named after the data
// directory's device and inode: binding is atomic, a second bind fails with EADDRINUSE,
// and the kernel releases it when the process ends, even by kill -9, so there is no
// stale lock file to judge or remove. Its scope is the network namespace: two containers
// that share the volume but not the network are not kept apart (see docs/operations.md).
// Abstract sockets have no permissions, so the name also mixes in a random secret kept
// beside the directory (mode 0600): another local user, who can stat the directory but
// not read the secret, cannot bind the name first and keep Gatehouse from starting.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { link, readFile, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

export class DataDirInUseError extends Error {
  readonly dataDir: string;

  constructor(dataDir: string) {
    super(
      `DATA_DIR ${dataDir} is in use by another Gatehouse process (is \`gatehouse serve\` running?). ` +
        'Only one process may open an embedded database: stop the server, run the command, then start the server again.',
    );
    this.name = 'DataDirInUseError';
    this.dataDir = dataDir;
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** The directory's lock secret, created once; written whole before anyone can read it. */
async function lockSecret(dataDir: string): Promise<string> {
  const path = `${dataDir}.lock-id`;
  const draft = `${path}.${randomUUID()}`;
  await writeFile(draft, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  try {
    await link(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(draft);
  }
  return readFile(path, 'utf8');
}

async function lockName(dataDir: string): Promise<string> {
  const info = await stat(dataDir, { bigint: true });
  // By its real path, so a symlinked spelling of the same directory finds the same secret.
  const secret = await lockSecret(await realpath(dataDir));
  const digest = createHash('sha256').update(`${info.dev}:${info.ino}:${secret}`).digest('hex').slice(0, 32);
  return `\0gatehouse-data-dir-${digest}`;
}

function listen(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: name, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Takes the directory's lock, or throws DataDirInUseError while another process (or opener) holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  if (process.platform !== 'linux') {
    throw new Error('an embedded DATA_DIR is supported on Linux only (its lock uses the abstract socket namespace); use DATABASE_URL elsewhere');
  }
  // Nobody may talk to it; it exists only to be held.
  const server = createServer((socket) => socket.destroy());
  try {
    await listen(server, await lockName(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DataDirInUseError(dataDir);
    throw error;
  }
  server.unref();
  return {
    release: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
