// Builds a real app for tests: development config from an explicit env (never the
// process's), an in-memory PGlite unless a database is given, and a logger whose lines
// are captured so tests can assert on what was (and was not) logged.
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { systemClock, type Clock } from '../../src/core/clock.ts';
import { openDatabase, type Database } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { createLogger } from '../../src/core/logging.ts';

export interface TestApp {
  readonly app: App;
  readonly config: Config;
  readonly database: Database;
  /** Every log line written so far, raw. */
  readonly logs: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  readonly database?: Database;
  readonly redis?: Redis | null;
  readonly clock?: Clock;
  /** Register extra routes before the app is ready. */
  readonly routes?: (app: App) => void;
}

export function captureLines(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
}

let shared: Promise<Database> | null = null;

/** One migrated in-memory PGlite per test process: starting PGlite costs seconds. */
export function sharedTestDatabase(): Promise<Database> {
  shared ??= openDatabase({ engine: 'pglite', dataDir: null }).then(async (database) => {
    await migrate(database);
    return database;
  });
  return shared;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({ GATEHOUSE_ENV: 'development', LOG_LEVEL: 'info', ...options.env });
  const logs: string[] = [];
  const log = createLogger({ level: config.logLevel, destination: captureLines(logs) });
  const database = options.database ?? (await sharedTestDatabase());
  const app = await buildApp({ config, log, database, redis: options.redis ?? null, clock: options.clock ?? systemClock });
  options.routes?.(app);
  await app.ready();
  return {
    app,
    config,
    database,
    logs,
    async close() {
      await app.close();
    },
  };
}
