// Opens what a command needs from a validated configuration: the master keyring, the
// database (migrated when asked), Redis, and the keys the server derives for itself.
// Every CLI command and the server use this one path, so they agree on all of it.
import type { Config } from './config/config.ts';
import { ensureDevelopmentMasterKey } from './config/dev-keys.ts';
import { auditKeyInForce } from './core/audit/keys.ts';
import type { AuditKey } from './core/audit/types.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { createKeyring, type Keyring } from './core/crypto/keyring.ts';
import type { MasterKey } from './core/crypto/master-key.ts';
import { openDatabase, type Database } from './core/db/database.ts';
import { migrate, requireCurrentSchema } from './core/db/migrate.ts';
import type { Logger } from './core/logging.ts';
import { openRedis, type RedisClient } from './core/redis.ts';

export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly database: Database;
  readonly redis: RedisClient | null;
  readonly keyring: Keyring;
  /** The audit key in force when the runtime opened. */
  readonly auditKey: AuditKey;
  close(): Promise<void>;
}

export async function resolveMasterKeys(config: Config, log: Logger): Promise<readonly MasterKey[]> {
  if (config.masterKeys !== null) return config.masterKeys;
  // Configuration validation already refused production without a key.
  return ensureDevelopmentMasterKey(config.dataDir, { warn: (message) => { log.warn(message); } });
}

/** A small pool for one-shot CLI commands that run beside a serving instance. */
export async function openCommandDatabase(config: Config): Promise<Database> {
  return openDatabase(config.database.engine === 'postgres' ? { ...config.database, poolMax: 2 } : config.database);
}

/**
 * `migrate`: apply pending migrations first (refusing a database whose migrations are not
 * this build's). `requireCurrentSchema`, without `migrate`: apply none, and refuse unless
 * the schema is exactly this build's (a WORKERS worker, whose primary migrated).
 */
export async function openRuntime(config: Config, log: Logger, options: { migrate: boolean; requireCurrentSchema?: boolean }): Promise<Runtime> {
  const keyring = createKeyring(await resolveMasterKeys(config, log));
  const database = await openDatabase(config.database);
  const redis = config.redisURL === null ? null : openRedis(config.redisURL, { log, clock: systemClock }, { cluster: config.redisCluster });
  try {
    if (options.migrate) {
      const applied = await migrate(database);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    } else if (options.requireCurrentSchema === true) {
      await requireCurrentSchema(database);
    }
    // The key in force at the head; appends switch by themselves after a rotation (core/audit/append.ts).
    const auditKey = await auditKeyInForce(database.db, keyring);
    return {
      config,
      log,
      clock: systemClock,
      database,
      redis,
      keyring,
      auditKey,
      async close() {
        redis?.disconnect();
        await database.close();
      },
    };
  } catch (error) {
    redis?.disconnect();
    await database.close();
    throw error;
  }
}
