// Every database test runs on PGlite, and on PostgreSQL too when DATABASE_URL_TEST is set.
// Each PostgreSQL test database is created fresh and dropped afterwards, so test files
// running in parallel never see each other's rows.
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { openDatabase, type Database, type Engine } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';

export interface TestDatabase {
  readonly database: Database;
  /** A connection URL for the PostgreSQL engine (null on PGlite). */
  readonly url: string | null;
  cleanup(): Promise<void>;
}

export interface TestEngine {
  readonly engine: Engine;
  open(options?: { migrate?: boolean }): Promise<TestDatabase>;
}

async function openPGliteTest(options: { migrate?: boolean }): Promise<TestDatabase> {
  const database = await openDatabase({ engine: 'pglite', dataDir: null });
  if (options.migrate !== false) await migrate(database);
  return { database, url: null, cleanup: () => database.close() };
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function openPostgresTest(baseUrl: string, options: { migrate?: boolean }): Promise<TestDatabase> {
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(baseUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ engine: 'postgres', url: url.toString(), poolMax: 40 });
  if (options.migrate !== false) await migrate(database);
  return {
    database,
    url: url.toString(),
    async cleanup() {
      await database.close();
      await withAdmin(baseUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

/** The engines this run covers: PGlite always, PostgreSQL when DATABASE_URL_TEST is set. */
export function testEngines(): TestEngine[] {
  const engines: TestEngine[] = [{ engine: 'pglite', open: (options = {}) => openPGliteTest(options) }];
  const baseUrl = process.env['DATABASE_URL_TEST'];
  if (baseUrl !== undefined && baseUrl !== '') {
    engines.push({ engine: 'postgres', open: (options = {}) => openPostgresTest(baseUrl, options) });
  }
  return engines;
}

export function postgresTestUrl(): string | null {
  const baseUrl = process.env['DATABASE_URL_TEST'];
  return baseUrl === undefined || baseUrl === '' ? null : baseUrl;
}

/** Opens the engine's database before the suite and drops it after. */
export function databasePerSuite(engine: TestEngine): () => Database {
  let test: TestDatabase | undefined;
  before(async () => {
    test = await engine.open();
  });
  after(async () => {
    await test?.cleanup();
  });
  return () => {
    if (test === undefined) throw new Error('the test database is not open');
    return test.database;
  };
}
