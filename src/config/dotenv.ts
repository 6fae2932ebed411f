// `.env` in the working directory, read by the `gatehouse` command (src/main.ts) only,
// before the configuration is. The server, the library and the tests never read it.
//
// The file may hold the master key and database password, so it is held to the rules
// ssh holds a private key to: a file that another user could change (and so point
// DATABASE_URL elsewhere, or set a master key they know) or read is refused, not used.
// The process environment wins over the file, as with `node --env-file` and
// `process.loadEnvFile`, whose parser (`util.parseEnv`) this uses: the file is opened
// once and the checked descriptor is the one read, so a swap between check and read
// cannot slip a different file in.
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { parseEnv } from 'node:util';

export const DOTENV_FILE = '.env';

export class DotEnvError extends Error {}

export interface DotEnvOptions {
  /** The file to read; `.env` in the working directory from the CLI. */
  readonly path: string;
  /** What is set already; only names absent from it are added. */
  readonly env: NodeJS.ProcessEnv;
  /** The process's user id; undefined where there is none (Windows): no ownership rule. */
  readonly uid: number | undefined;
}

export interface DotEnvResult {
  readonly loaded: boolean;
  /** Names the file set (the environment did not already have them). */
  readonly applied: readonly string[];
  readonly warnings: readonly string[];
}

const NOT_LOADED: DotEnvResult = { loaded: false, applied: [], warnings: [] };

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}

/** Refusals and warnings for the file's type, owner and mode; the reason names no value. */
function judge(path: string, stats: Stats, uid: number | undefined): string[] {
  if (!stats.isFile()) throw new DotEnvError(`${path} is not a regular file`);
  if (uid === undefined) return [];
  if (stats.uid !== uid && stats.uid !== 0) {
    throw new DotEnvError(`${path} belongs to another user (uid ${stats.uid}); it must belong to the user running gatehouse (or root)`);
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new DotEnvError(`${path} can be changed by other users (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  if ((stats.mode & 0o004) !== 0) {
    throw new DotEnvError(`${path} can be read by every user of this machine (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  if ((stats.mode & 0o040) !== 0) {
    return [`${path} can be read by its group (mode ${(stats.mode & 0o777).toString(8)}); unless that is meant, run: chmod 600 ${path}`];
  }
  return [];
}

/** Adds the variables of `path` that `env` lacks; a missing file is not an error. */
export function loadDotEnv(options: DotEnvOptions): DotEnvResult {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named .env must not hang the command before it is refused.
    // O_NOFOLLOW: in a directory others can write to, a .env symlinked to a file of the
    // operator's (a root-owned key file, say) must not be read as configuration.
    fd = openSync(options.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return NOT_LOADED;
    throw new DotEnvError(`${options.path} cannot be opened (${errorCode(error)})`);
  }
  try {
    const warnings = judge(options.path, fstatSync(fd), options.uid);
    const parsed = parseEnv(readFileSync(fd, 'utf8'));
    const applied: string[] = [];
    for (const [name, value] of Object.entries(parsed)) {
      if (Object.hasOwn(options.env, name)) continue;
      options.env[name] = value;
      applied.push(name);
    }
    return { loaded: true, applied, warnings };
  } finally {
    closeSync(fd);
  }
}
