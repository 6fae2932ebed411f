// The machine and the process: who can read the data directories, who the process runs
// as, and the Node.js it runs on.
import { stat } from 'node:fs/promises';
import type { Config } from '../../config/config.ts';
import { errorCode } from '../../config/parse-values.ts';
import { fail, pass, skip, unsafe, warn, type Check, type Finding } from './types.ts';

/** The Node.js major Gatehouse needs (package.json "engines", scripts/require-node.cjs). */
export const REQUIRED_NODE_MAJOR = 24;

export function judgeDirectoryMode(config: Pick<Config, 'environment'>, setting: string, path: string, mode: number | null): Finding {
  if (mode === null) return skip(`${setting} ${path} does not exist yet (it is created with mode 700)`);
  const bits = (mode & 0o777).toString(8);
  // The development master key, the embedded database and stored files live here.
  if ((mode & 0o007) !== 0) return unsafe(config, `${setting} ${path} is open to other users (mode ${bits})`, `chmod 700 ${path}`);
  return pass(`${setting} ${path} is closed to other users (mode ${bits})`);
}

async function modeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mode;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

export const dataDirCheck: Check = {
  name: 'data-dir',
  dependsOn: ['configuration'],
  async run(context) {
    const config = context.config();
    return judgeDirectoryMode(config, 'DATA_DIR', config.dataDir, await modeOf(config.dataDir));
  },
};

export const filesDirCheck: Check = {
  name: 'files-dir',
  dependsOn: ['configuration'],
  async run(context) {
    const config = context.config();
    const dir = config.uploads.filesDir;
    if (dir === null) return skip('FILES_DIR unset (files are stored in the database)');
    return judgeDirectoryMode(config, 'FILES_DIR', dir, await modeOf(dir));
  },
};

export function judgeProcessUser(uid: number | undefined): Finding {
  if (uid === undefined) return skip('no POSIX user ids on this platform');
  // A flaw anywhere in the process would then own the whole machine.
  if (uid === 0) return warn('running as root', 'run Gatehouse as an unprivileged user (the container image does; with systemd, User=)');
  return pass(`running as uid ${uid}, not root`);
}

export const processUserCheck: Check = { name: 'process-user', run: (context) => judgeProcessUser(context.uid) };

export function judgeNodeVersion(version: string): Finding {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  const upgrade = `install Node.js ${REQUIRED_NODE_MAJOR} LTS or a newer LTS`;
  if (!(major >= REQUIRED_NODE_MAJOR)) return fail(`Node.js ${version} is older than ${REQUIRED_NODE_MAJOR}`, upgrade);
  // Odd majors are supported for about six months only and never become LTS.
  if (major % 2 === 1) return warn(`Node.js ${version} is not a long-term-support line`, upgrade);
  return pass(`Node.js ${version}`);
}

export const nodeVersionCheck: Check = { name: 'node-version', run: (context) => judgeNodeVersion(context.nodeVersion) };
