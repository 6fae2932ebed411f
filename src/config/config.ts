// The server's whole configuration, read once at boot from the environment, validated
// all at once, and frozen. Nothing else reads process.env: the Config is passed to
// whatever needs it.
import { checkListener, checkRedisURL, checkSMTPURL, readTLS, type TLSConfig } from './transport-security.ts';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { parseMasterKeys, type MasterKey } from '../core/crypto/master-key.ts';
import { ConfigError } from './config-error.ts';
import { parseCORSOrigins, type CORSOrigins } from './cors.ts';
import { parseDatabaseURL, productionDatabaseRule } from './database-url.ts';
import type { Env, ReadFile } from './env-source.ts';
import { describeConfig } from './mask.ts';
import { accept, hasControlCharacter, parseBoolean, parseChoice, parseDirectory, parseDuration, parseHost, parseInteger, parseMailbox, parseRoleNames, refuse, type Parsed } from './parse-values.ts';
import { parsePublicURL, parseServiceURL, publicURLFromListener } from './parse-urls.ts';
import { readAdministration, type AdministrationConfig } from './operations-extra.ts';
import { readUploads, type UploadsConfig } from './uploads.ts';
import { readBackups, type BackupsConfig } from './backups.ts';
import { createReader, type Reader } from './reader.ts';
import { readRedis } from './redis.ts';
import { readWorkers } from './workers.ts';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts';

export { ConfigError, formatConfigProblems, isConfigError, type ConfigProblem } from './config-error.ts';
export type { CORSOrigins } from './cors.ts';
export type { TrustProxy } from './trust-proxy.ts';
export type { AdministrationConfig, BootstrapAdminConfig, WebhookConfig } from './operations-extra.ts';
export type { UploadsConfig } from './uploads.ts';
export type { BackupsConfig } from './backups.ts';

export const ENVIRONMENTS = ['development', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  | { readonly engine: 'pglite'; readonly dataDir: string }
  | { readonly engine: 'postgres'; readonly url: string; readonly poolMax: number; readonly preparedStatements: boolean };

export interface Config {
  readonly environment: Environment;
  readonly host: string;
  readonly port: number;
  /** Absolute. */
  readonly dataDir: string;
  /** Absolute http(s) URL without a trailing slash; https in production. */
  readonly publicURL: string;
  readonly database: DatabaseConfig;
  readonly redisURL: string | null;
  /** REDIS_URL is a seed node of a Redis Cluster (core/redis.ts opens a cluster client). */
  readonly redisCluster: boolean;
  /** Newest first. Null only in development, where the server uses a generated key. */
  readonly masterKeys: readonly MasterKey[] | null;
  readonly cors: { readonly origins: CORSOrigins; readonly credentials: boolean };
  readonly smtp: { readonly url: string | null; readonly from: string };
  readonly trustProxy: TrustProxy;
  /** The HTTPS listener's certificate and key files; null: plain HTTP (behind a TLS-terminating proxy in production). */
  readonly tls: TLSConfig | null;
  readonly logLevel: LogLevel;
  readonly rateLimit: { readonly max: number; readonly windowSeconds: number };
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutSeconds: number;
  /** Processes serving the port (`gatehouse serve`); above 1 only on PostgreSQL. */
  readonly workers: number;
  readonly metricsToken: string | null;
  readonly auth: AuthConfig;
  readonly administration: AdministrationConfig;
  readonly uploads: UploadsConfig;
  readonly backups: BackupsConfig;
}

/** Token lifetimes, brute-force limits and password policy (durations in seconds). */
export interface AuthConfig {
  readonly accessTokenTtl: number;
  /** The `aud` of access tokens; defaults to PUBLIC_URL. */
  readonly accessTokenAudience: string;
  readonly refreshIdleTtl: number;
  readonly sessionMaxAge: number;
  /** Seconds in which a spent refresh token, retried, gets the same successor; 0: strict single use. */
  readonly refreshTokenReuseInterval: number;
  readonly lockoutThreshold: number;
  readonly lockoutDuration: number;
  readonly passwordMinLength: number;
  /** Requests per client address per window on every /v1/auth route. */
  readonly ipLimit: { readonly max: number; readonly windowSeconds: number };
  /** Attempts per client address and account per window on credential routes. */
  readonly accountLimit: { readonly max: number; readonly windowSeconds: number };
  /** Roles whose holders must enrol a second factor and use it for administration. */
  readonly mfaRequiredRoles: readonly string[];
  /** Seconds after which a sensitive action needs the user to authenticate again (step-up). */
  readonly reauthMaxAge: number;
  /** Days between a user's request to delete their account and its erasure (0: at once). */
  readonly accountDeletionGraceDays: number;
  /** Days after which the addresses of audit records and sessions are cut to their network and their user agents removed. */
  readonly ipRetentionDays: number;
}

export interface LoadConfigOptions {
  /** Reads a `NAME_FILE` secret; defaults to a synchronous UTF-8 read. */
  readonly readFile?: ReadFile;
  /** Base for a relative DATA_DIR; defaults to the process's working directory. */
  readonly cwd?: string;
}

function readListener(reader: Reader): Pick<Config, 'host' | 'port' | 'publicURL'> {
  const host = reader.take('HOST', reader.plain('HOST'), parseHost, '127.0.0.1');
  const port = reader.take('PORT', reader.plain('PORT'), (raw) => parseInteger(raw, { min: 1, max: 65535 }), 8080);
  const explicit = reader.plain('PUBLIC_URL');
  const publicURL = explicit === undefined ? publicURLFromListener(host, port) : reader.take('PUBLIC_URL', explicit, parsePublicURL, '');
  // Access and refresh tokens are bearer credentials (the server sets no cookies): over
  // plain http anyone on the path can take them, and passwords with them.
  if (reader.production && !reader.hasProblem('PUBLIC_URL') && !publicURL.startsWith('https://')) {
    reader.report('PUBLIC_URL', explicit === undefined ? 'must be set to the https:// URL clients use, in production' : 'must be an https:// URL in production');
  }
  return { host, port, publicURL };
}

function readDatabase(reader: Reader, dataDir: string): Config['database'] {
  const poolMax = reader.take('DATABASE_POOL_MAX', reader.plain('DATABASE_POOL_MAX'), (raw) => parseInteger(raw, { min: 1, max: 200 }), 10);
  // Named prepared statements (core/db/prepared-statements.ts); false for a pooler that does not carry them.
  const preparedStatements = reader.take('DATABASE_PREPARED_STATEMENTS', reader.plain('DATABASE_PREPARED_STATEMENTS'), parseBoolean, true);
  const raw = reader.secret('DATABASE_URL');
  if (raw === undefined) return { engine: 'pglite', dataDir: join(dataDir, 'pglite') };
  const parsed = reader.take('DATABASE_URL', raw, parseDatabaseURL, null);
  const rule = parsed !== null && reader.production ? productionDatabaseRule(parsed) : null;
  if (rule !== null) reader.report('DATABASE_URL', rule);
  return { engine: 'postgres', url: raw, poolMax, preparedStatements };
}

function readMasterKeys(reader: Reader): readonly MasterKey[] | null {
  const raw = reader.secret('GATEHOUSE_MASTER_KEY');
  if (raw === undefined) {
    if (reader.production && !reader.hasProblem('GATEHOUSE_MASTER_KEY')) {
      reader.report('GATEHOUSE_MASTER_KEY', 'must be set in production (see .env.example to generate one)');
    }
    return null;
  }
  // parseMasterKeys names entries and key ids, never key material.
  const parsed = parseMasterKeys(raw);
  if (!parsed.ok) {
    for (const problem of parsed.problems) reader.report('GATEHOUSE_MASTER_KEY', problem);
    return null;
  }
  return parsed.keys.map((key) => ({ id: key.id, key: key.key }));
}

function readCORS(reader: Reader): Config['cors'] {
  const origins = reader.take('CORS_ORIGINS', reader.plain('CORS_ORIGINS'), parseCORSOrigins, []);
  const credentials = reader.take('CORS_CREDENTIALS', reader.plain('CORS_CREDENTIALS'), parseBoolean, false);
  if (origins === '*' && reader.production) reader.report('CORS_ORIGINS', '* is refused in production; list the exact origins');
  // Browsers refuse `*` with credentials, and the usual workaround (reflecting any
  // Origin) would let every site make authenticated requests as the user.
  if (origins === '*' && credentials) reader.report('CORS_CREDENTIALS', 'must not be true when CORS_ORIGINS is *');
  return { origins, credentials };
}

function readSMTP(reader: Reader): Config['smtp'] {
  const raw = reader.secret('SMTP_URL');
  const url = reader.take('SMTP_URL', raw, (text) => parseServiceURL(text, ['smtp', 'smtps']), null);
  if (raw === undefined && reader.production && !reader.hasProblem('SMTP_URL')) {
    reader.report('SMTP_URL', 'must be set in production (verification and recovery mail need it)');
  }
  const from = reader.take('SMTP_FROM', reader.plain('SMTP_FROM'), parseMailbox, 'Gatehouse <no-reply@localhost>');
  return { url, from };
}

function parseMetricsToken(raw: string): Parsed<string> {
  if (raw.length < 32 || hasControlCharacter(raw)) return refuse('must be at least 32 characters, without control characters');
  return accept(raw);
}

function readOperations(reader: Reader): Pick<Config, 'trustProxy' | 'logLevel' | 'rateLimit' | 'bodyLimitBytes' | 'shutdownTimeoutSeconds' | 'metricsToken'> {
  const integer = (name: string, min: number, max: number, fallback: number): number =>
    reader.take(name, reader.plain(name), (raw) => parseInteger(raw, { min, max }), fallback);
  return {
    trustProxy: reader.take('TRUST_PROXY', reader.plain('TRUST_PROXY'), parseTrustProxy, false),
    logLevel: reader.take('LOG_LEVEL', reader.plain('LOG_LEVEL'), (raw) => parseChoice(raw, LOG_LEVELS), 'info'),
    rateLimit: { max: integer('RATE_LIMIT_MAX', 1, 1_000_000, 300), windowSeconds: integer('RATE_LIMIT_WINDOW_SECONDS', 1, 86_400, 60) },
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', 1024, 10_485_760, 65_536),
    shutdownTimeoutSeconds: integer('SHUTDOWN_TIMEOUT_SECONDS', 1, 300, 10),
    metricsToken: reader.take('METRICS_TOKEN', reader.secret('METRICS_TOKEN'), parseMetricsToken, null),
  };
}

function readAuth(reader: Reader, publicURL: string): AuthConfig {
  const duration = (name: string, min: number, max: number, fallback: number): number =>
    reader.take(name, reader.plain(name), (raw) => parseDuration(raw, { min, max }), fallback);
  const integer = (name: string, min: number, max: number, fallback: number): number =>
    reader.take(name, reader.plain(name), (raw) => parseInteger(raw, { min, max }), fallback);
  const auth: AuthConfig = {
    accessTokenTtl: duration('ACCESS_TOKEN_TTL', 60, 86_400, 1800),
    accessTokenAudience: reader.take('ACCESS_TOKEN_AUDIENCE', reader.plain('ACCESS_TOKEN_AUDIENCE'), parseAudience, publicURL),
    refreshIdleTtl: duration('REFRESH_IDLE_TTL', 300, 90 * 86_400, 7 * 86_400),
    sessionMaxAge: duration('SESSION_MAX_AGE', 3600, 365 * 86_400, 30 * 86_400),
    // Long enough for a client's retry after a lost response (and Supabase Auth's default),
    // short enough that a thief replaying a copied token must race its owner by seconds.
    refreshTokenReuseInterval: integer('REFRESH_TOKEN_REUSE_INTERVAL_SECONDS', 0, 60, 10),
    lockoutThreshold: integer('LOCKOUT_THRESHOLD', 1, 100, 5),
    lockoutDuration: duration('LOCKOUT_DURATION', 60, 86_400, 900),
    // NIST SP 800-63B: never below 8.
    passwordMinLength: integer('PASSWORD_MIN_LENGTH', 8, 64, 12),
    ipLimit: { max: integer('AUTH_RATE_LIMIT_MAX', 1, 100_000, 30), windowSeconds: duration('AUTH_RATE_LIMIT_WINDOW', 1, 86_400, 60) },
    accountLimit: { max: integer('AUTH_ACCOUNT_RATE_LIMIT_MAX', 1, 10_000, 10), windowSeconds: duration('AUTH_ACCOUNT_RATE_LIMIT_WINDOW', 1, 86_400, 900) },
    mfaRequiredRoles: reader.take('MFA_REQUIRED_ROLES', reader.plain('MFA_REQUIRED_ROLES'), parseRoleNames, ['admin']),
    // OWASP ASVS 3.7.1 asks for re-authentication before sensitive changes; ten minutes is
    // long enough to finish one task after signing in.
    reauthMaxAge: duration('REAUTH_MAX_AGE', 60, 86_400, 600),
    // Time to change one's mind, or to notice that someone else asked (GDPR art. 17 asks
    // for erasure "without undue delay"; a week is what most services give).
    accountDeletionGraceDays: integer('ACCOUNT_DELETION_GRACE_DAYS', 0, 90, 7),
    ipRetentionDays: integer('IP_RETENTION_DAYS', 1, 3650, 30),
  };
  if (auth.refreshIdleTtl > auth.sessionMaxAge) reader.report('REFRESH_IDLE_TTL', 'must not be longer than SESSION_MAX_AGE');
  return auth;
}

function parseAudience(raw: string): Parsed<string> {
  return raw.length <= 200 && !hasControlCharacter(raw) && !raw.includes(',') ? accept(raw) : refuse('must be one audience string of at most 200 characters');
}

// Buffers cannot be frozen (their bytes stay writable); every object around them is.
function freezeDeep<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  for (const child of Object.values(value)) freezeDeep(child);
  return Object.freeze(value);
}

// Logging the config by mistake (`log.info({config})`, console.log) prints the masked
// description instead of the master keys, tokens and database password.
function maskWhenPrinted(config: Config): Config {
  const masked = (): ReturnType<typeof describeConfig> => describeConfig(config);
  Object.defineProperty(config, 'toJSON', { value: masked });
  Object.defineProperty(config, inspect.custom, { value: masked });
  return config;
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const environmentRaw = env['GATEHOUSE_ENV'];
  const environment = environmentRaw === undefined || environmentRaw === '' ? accept<Environment>('development') : parseChoice(environmentRaw, ENVIRONMENTS);
  // An unrecognised GATEHOUSE_ENV ("prod") is checked against the production rules: a
  // typo must not quietly relax them.
  const reader = createReader(env, {
    readFile: options.readFile ?? ((path) => readFileSync(path, 'utf8')),
    production: !environment.ok || environment.value === 'production',
  });
  if (!environment.ok) reader.report('GATEHOUSE_ENV', environment.rule);
  const dataDir = resolve(options.cwd ?? process.cwd(), reader.take('DATA_DIR', reader.plain('DATA_DIR'), parseDirectory, './data'));
  const listener = readListener(reader);
  const database = readDatabase(reader, dataDir);
  const config: Config = {
    environment: environment.ok ? environment.value : 'production',
    ...listener,
    dataDir,
    database,
    ...readRedis(reader),
    masterKeys: readMasterKeys(reader),
    cors: readCORS(reader),
    smtp: readSMTP(reader),
    tls: readTLS(reader),
    ...readOperations(reader),
    workers: readWorkers(reader, database.engine),
    auth: readAuth(reader, listener.publicURL),
    administration: readAdministration(reader),
    uploads: readUploads(reader, (path) => resolve(options.cwd ?? process.cwd(), path)),
    backups: readBackups(reader, (path) => resolve(options.cwd ?? process.cwd(), path)),
  };
  checkListener(reader, { tls: config.tls, trustProxy: config.trustProxy });
  checkRedisURL(reader, config.redisURL);
  checkSMTPURL(reader, config.smtp.url);
  if (config.administration.metricsPort !== null && config.administration.metricsPort === config.port) {
    reader.report('METRICS_PORT', 'must differ from PORT');
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return freezeDeep(maskWhenPrinted(config));
}
