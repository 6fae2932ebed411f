// Every database test runs on PGlite, and on PostgreSQL too when DATABASE_URL_TEST is set.
// Each test database is a fresh copy, closed (and on PostgreSQL dropped) afterwards, so
// test files running in parallel never see each other's rows.
//
// Copies, not new databases: initdb and the migrations cost PGlite 7–11 s per database,
// so the migrated schema is built once per run by the global setup (global-setup.ts,
// `npm test` passes it with --test-global-setup) and every test database is a clone of
// it: PGlite loads a dumped tarball (about 1 s), PostgreSQL runs CREATE DATABASE …
// TEMPLATE. A file run on its own, without the global setup, builds the PGlite template
// once in its own process and migrates each PostgreSQL database, as before.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { openDatabase, openPGlite, type Database, type Engine } from '../../src/core/db/database.ts';
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

/** Set by the global setup: the directory holding the PGlite templates. */
export const PGLITE_TEMPLATE_DIR_ENV = 'GATEHOUSE_TEST_PGLITE_TEMPLATES';
/** Set by the global setup: the migrated PostgreSQL database that test databases copy. */
export const POSTGRES_TEMPLATE_ENV = 'GATEHOUSE_TEST_POSTGRES_TEMPLATE';

type TemplateKind = 'empty' | 'migrated';
const TEMPLATE_KINDS: readonly TemplateKind[] = ['empty', 'migrated'];
const TAR = 'application/x-tar';

/** Dumps a new in-memory PGlite as it is before and after the migrations. */
async function buildPGliteTemplates(): Promise<Record<TemplateKind, Blob>> {
  const database = await openPGlite({ engine: 'pglite', dataDir: null });
  try {
    const empty = await database.dumpDataDir();
    await migrate(database);
    return { empty, migrated: await database.dumpDataDir() };
  } finally {
    await database.close();
  }
}

/** For the global setup: writes both PGlite templates into `dir`. */
export async function writePGliteTemplates(dir: string): Promise<void> {
  const templates = await buildPGliteTemplates();
  for (const kind of TEMPLATE_KINDS) {
    await writeFile(join(dir, `${kind}.tar`), new Uint8Array(await templates[kind].arrayBuffer()), { mode: 0o600 });
  }
}

let templates: Promise<Record<TemplateKind, Blob>> | null = null;

async function readPGliteTemplates(dir: string): Promise<Record<TemplateKind, Blob>> {
  const read = async (kind: TemplateKind): Promise<Blob> => new Blob([await readFile(join(dir, `${kind}.tar`))], { type: TAR });
  return { empty: await read('empty'), migrated: await read('migrated') };
}

function pgliteTemplates(): Promise<Record<TemplateKind, Blob>> {
  const dir = process.env[PGLITE_TEMPLATE_DIR_ENV];
  templates ??= dir === undefined || dir === '' ? buildPGliteTemplates() : readPGliteTemplates(dir);
  return templates;
}

/** A new in-memory PGlite, migrated unless told otherwise, cloned from this run's template. */
export async function openPGliteClone(options: { migrate?: boolean } = {}): Promise<Database> {
  const template = (await pgliteTemplates())[options.migrate === false ? 'empty' : 'migrated'];
  return openDatabase({ engine: 'pglite', dataDir: null, loadDataDir: template });
}

async function openPGliteTest(options: { migrate?: boolean }): Promise<TestDatabase> {
  const database = await openPGliteClone(options);
  return { database, url: null, cleanup: () => database.close() };
}

/** `fn` with one client connected to `baseUrl` (the test server's superuser), closed after. */
export async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function databaseURL(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(baseUrl: string, name: string): Promise<void> {
  await withAdmin(baseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}

/** For the global setup: a migrated PostgreSQL database that nobody may connect to, to copy. */
export async function createPostgresTemplate(baseUrl: string): Promise<string> {
  const name = `gatehouse_template_${randomBytes(6).toString('hex')}`;
  await withAdmin(baseUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const database = await openDatabase({ engine: 'postgres', url: databaseURL(baseUrl, name), poolMax: 1 });
  try {
    await migrate(database);
  } finally {
    await database.close();
  }
  // CREATE DATABASE … TEMPLATE refuses a source with other sessions on it.
  await withAdmin(baseUrl, (client) => client.query(`ALTER DATABASE ${client.escapeIdentifier(name)} ALLOW_CONNECTIONS false`));
  return name;
}

async function openPostgresTest(baseUrl: string, options: { migrate?: boolean }): Promise<TestDatabase> {
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const template = options.migrate === false ? undefined : process.env[POSTGRES_TEMPLATE_ENV];
  const copied = template !== undefined && template !== '';
  await withAdmin(baseUrl, (client) =>
    client.query(
      copied
        ? `CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`
        : `CREATE DATABASE ${client.escapeIdentifier(name)}`,
    ),
  );
  const url = databaseURL(baseUrl, name);
  const database = await openDatabase({ engine: 'postgres', url, poolMax: 40 });
  if (options.migrate !== false && !copied) await migrate(database);
  return {
    database,
    url,
    async cleanup() {
      await database.close();
      await dropPostgresDatabase(baseUrl, name);
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
