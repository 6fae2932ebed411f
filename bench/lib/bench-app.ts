// The real wiring for a benchmark, as `gatehouse serve` builds it: configuration from an
// explicit environment (never the process's), a migrated database, the services with the
// production Argon2id cost (no passwordHashing: OWASP m=19 MiB, t=2, p=1; the login-overhead
// diagnostic alone passes the minimum), and the app.
// Log lines are formatted and redacted as in production, then thrown away.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Clock } from '../../src/core/clock.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { getOrCreateSystemKey } from '../../src/core/crypto/system-keys.ts';
import { openDatabase, type Database } from '../../src/core/db/database.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { createLogger } from '../../src/core/logging.ts';
import { createServices, type Services } from '../../src/services.ts';

export interface BenchApp {
  readonly config: Config;
  readonly database: Database;
  readonly services: Services;
  /** Built, not listening. */
  readonly app: App;
}

export async function buildBenchApp(env: Record<string, string>, clock: Clock, passwordHashing?: { memoryKiB: number; passes: number; parallelism: number }): Promise<BenchApp> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel, destination: pino.destination({ dest: '/dev/null', sync: false }) });
  const database = await openDatabase(config.database);
  await migrate(database);
  const keyring = createKeyring([{ id: 'bench', key: randomBytes(32) }]);
  const services = await createServices({
    config,
    database,
    redis: null,
    keyring,
    auditKey: await getOrCreateSystemKey(database.db, keyring, 'audit-chain'),
    log,
    clock,
    mailTransport: async () => {},
    ...(passwordHashing === undefined ? {} : { passwordHashing }),
  });
  const app = await buildApp({ config, log, database, redis: null, clock, services });
  return { config, database, services, app };
}
