// What the checks look at, opened on first use and shared: the configuration, the
// database (a small pool, never migrated: doctor changes nothing), the master keys and
// Redis. Unlike openRuntime, each piece fails on its own, so one unreachable service
// fails its own check and the checks that need it are skipped, while the rest still run.
// Nothing is created either: no embedded database, no development key, no audit key.
import { access } from 'node:fs/promises';
import { loadConfig, type Config } from '../../config/config.ts';
import { DEVELOPMENT_KEY_FILE, readDevelopmentMasterKey } from '../../config/dev-keys.ts';
import type { Env } from '../../config/env-source.ts';
import { systemClock } from '../../core/clock.ts';
import { createKeyring, type Keyring } from '../../core/crypto/keyring.ts';
import type { MasterKey } from '../../core/crypto/master-key.ts';
import type { Database } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging.ts';
import { describeRedisFailure, openRedis, type RedisClient } from '../../core/redis.ts';
import { openCommandDatabase } from '../../runtime.ts';
import type { DoctorContext } from './types.ts';

const REDIS_READY_TIMEOUT_MS = 5_000;

export interface OpenedContext extends DoctorContext {
  close(): Promise<void>;
}

function once<T>(open: () => Promise<T>): () => Promise<T> {
  let opened: Promise<T> | null = null;
  return () => (opened ??= open());
}

async function openDatabaseWithoutCreating(config: Config): Promise<Database> {
  if (config.database.engine === 'pglite') {
    // Opening a missing embedded database would create it (initdb): say so instead.
    const dir = config.database.dataDir;
    await access(dir).catch(() => {
      throw new Error(`no embedded database at ${dir} yet (gatehouse migrate or serve creates it)`);
    });
  }
  return openCommandDatabase(config);
}

async function readMasterKeys(config: Config): Promise<readonly MasterKey[]> {
  if (config.masterKeys !== null) return config.masterKeys;
  // None yet (the server makes it at first start): nothing can have been wrapped, which the key checks verify.
  return (await readDevelopmentMasterKey(config.dataDir)) ?? [];
}

function waitUntilReady(redis: RedisClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no answer within ${REDIS_READY_TIMEOUT_MS} ms`)); }, REDIS_READY_TIMEOUT_MS);
    redis.once('ready', () => { clearTimeout(timer); resolve(); });
    redis.once('error', (error: unknown) => {
      clearTimeout(timer);
      const failure = describeRedisFailure(error);
      reject(new Error(`unreachable: ${failure.errorCode ?? failure.name}: ${failure.message}`));
    });
  });
}

export function openDoctorContext(options: { readonly env: Env; readonly cwd: string }): OpenedContext {
  let loaded: { config: Config } | { error: unknown } | null = null;
  const config = (): Config => {
    if (loaded === null) {
      try {
        loaded = { config: loadConfig(options.env, { cwd: options.cwd }) };
      } catch (error) {
        loaded = { error };
      }
    }
    if ('error' in loaded) throw loaded.error;
    return loaded.config;
  };
  let database: Database | null = null;
  let redis: RedisClient | null = null;
  const masterKeys = once(() => readMasterKeys(config()));
  return {
    env: options.env,
    cwd: options.cwd,
    config,
    database: once(async () => (database = await openDatabaseWithoutCreating(config()))),
    masterKeys,
    keyring: once(async (): Promise<Keyring> => {
      const keys = await masterKeys();
      if (keys.length === 0) throw new Error(`no GATEHOUSE_MASTER_KEY and no development key in DATA_DIR/${DEVELOPMENT_KEY_FILE}`);
      return createKeyring(keys);
    }),
    redis: once(async () => {
      const { redisURL: url, redisCluster } = config();
      if (url === null) return null;
      // Its connection trouble is the redis check's finding, not log lines on stderr.
      redis = openRedis(url, { log: createLogger({ level: 'silent' }), clock: systemClock }, { cluster: redisCluster });
      await waitUntilReady(redis);
      return redis;
    }),
    now: systemClock,
    uid: process.getuid?.(),
    nodeVersion: process.version,
    async close() {
      redis?.disconnect();
      await database?.close();
    },
  };
}
