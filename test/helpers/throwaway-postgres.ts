// A PostgreSQL cluster of the test's own, so fault tests can stop, restart and kill it
// without touching the shared server: in a temp dir, on a free port of 127.0.0.1, trust
// auth, its socket in the temp dir, run as `postgres` when started as root (initdb refuses
// root), and removed by destroy().
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './server-process.ts';

const run = promisify(execFile);

export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:PORT/DB of the cluster's database made for the test. */
  readonly url: string;
  readonly port: number;
  /** Stops the server; `immediate` is a crash (no checkpoint), `fast` a clean stop. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Ends every backend connected to the test database, as a failover or an operator does. */
  terminateBackends(): Promise<number>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

async function postgresBin(name: string): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  if (newest === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', newest, 'bin', name);
}

// initdb and postgres refuse to run as root; as any other user they run as that user.
const isRoot = process.getuid?.() === 0;

async function asPostgres(bin: string, args: readonly string[]): Promise<void> {
  // A bounded child: a wedged pg_ctl must not hang the test run.
  if (isRoot) await run('runuser', ['-u', 'postgres', '--', bin, ...args], { timeout: 60_000 });
  else await run(bin, args, { timeout: 60_000 });
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface ThrowawayOptions {
  readonly database?: string;
  /** Serve TLS with this certificate and key (copied into the cluster's directory, owned by the server's user, the key 0600). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export async function startThrowawayPostgres(options: ThrowawayOptions = {}): Promise<ThrowawayPostgres> {
  const database = options.database ?? 'gatehouse';
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const pgCtl = await postgresBin('pg_ctl');
  // An object, so the closures below and the cleanup on failure share one flag.
  const state = { running: false };
  try {
    if (isRoot) await chown(dir, ...(await postgresIds()));
    await asPostgres(await postgresBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const tls = options.tls === undefined ? [] : await installTLS(dir, options.tls);
    const settings = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c shared_buffers=16MB',
      '-c max_connections=60',
      ...tls,
    ].join(' ');
    const start = async (): Promise<void> => {
      await asPostgres(pgCtl, ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
      state.running = true;
    };
    const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
      if (!state.running) return;
      await asPostgres(pgCtl, ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      state.running = false;
    };
    await start();
    const adminURL = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await withClient(adminURL, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`));
    return {
      url: `postgres://postgres@127.0.0.1:${port}/${database}`,
      port,
      stop,
      start,
      async terminateBackends() {
        return withClient(adminURL, async (client) => {
          const result = await client.query<{ ended: boolean }>(
            'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [database],
          );
          return result.rows.filter((row) => row.ended).length;
        });
      },
      async destroy() {
        await stop('immediate').catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (state.running) await asPostgres(pgCtl, ['-D', data, '-m', 'immediate', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return [Number(uid.trim()), Number(gid.trim())];
}

/** The certificate and key where the server can read them; the settings that turn TLS on. */
async function installTLS(dir: string, files: { readonly cert: string; readonly key: string }): Promise<string[]> {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await copyFile(files.cert, cert);
  await copyFile(files.key, key);
  await chmod(key, 0o600);
  if (isRoot) {
    const [uid, gid] = await postgresIds();
    await chown(cert, uid, gid);
    await chown(key, uid, gid);
  }
  return ['-c ssl=on', `-c ssl_cert_file=${cert}`, `-c ssl_key_file=${key}`];
}
