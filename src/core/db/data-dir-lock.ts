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
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
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

async function lockName(dataDir: string): Promise<string> {
  const info = await stat(dataDir, { bigint: true });
  const digest = createHash('sha256').update(`${info.dev}:${info.ino}`).digest('hex').slice(0, 32);
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
