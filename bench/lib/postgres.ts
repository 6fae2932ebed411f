// A fresh PostgreSQL database for one benchmark run, dropped afterwards (as
// test/helpers/database.ts does for tests), and the backend pids serving it, so the
// benchmark can count PostgreSQL's CPU apart from everything else on the machine.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  readonly url: string;
  readonly name: string;
  readonly serverVersion: string;
  /** Pids of the backends connected to this database (not the admin connection). */
  backendPids(): Promise<number[]>;
  drop(): Promise<void>;
}

async function withAdmin<T>(baseURL: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseURL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function postgresBaseURL(env: NodeJS.ProcessEnv): string {
  const configured = env['DATABASE_URL_BENCH'] ?? env['DATABASE_URL_TEST'];
  return configured === undefined || configured === '' ? DEFAULT_POSTGRES_URL : configured;
}

export async function createBenchDatabase(baseURL: string): Promise<BenchDatabase> {
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  const serverVersion = await withAdmin(baseURL, async (client) => {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version ?? 'unknown';
  });
  const url = new URL(baseURL);
  url.pathname = `/${name}`;
  // One admin connection (to the base database, so it is never among the pids) for lookups.
  let observer: Promise<pg.Client> | null = null;
  const connectObserver = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: baseURL });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  return {
    url: url.toString(),
    name,
    serverVersion,
    async backendPids() {
      observer ??= connectObserver();
      const client = await observer;
      const result = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      return result.rows.map((row) => row.pid);
    },
    async drop() {
      if (observer !== null) await observer.then((client) => client.end(), () => {});
      await withAdmin(baseURL, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}
