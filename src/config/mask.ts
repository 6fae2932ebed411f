// What `gatehouse config check` prints: every setting, by the variable that sets it,
// with secrets reduced to whether they are set and passwords in URLs replaced.
import type { Config } from './config.ts';
import { parseHostlessURL, PLACEHOLDER_HOST } from './parse-urls.ts';

export type ConfigDescription = Record<string, string | number | boolean | null>;

const MASK = '***';
// Drivers also take credentials as query parameters (`?password=`), not only in userinfo.
const SECRET_PARAMETER = /pass|secret|token|key/i;

/** The URL with its password (and password-like parameters) replaced; the user is kept. */
export function maskURL(raw: string): string {
  const parsed = parseHostlessURL(raw);
  if (parsed === null) return MASK;
  const { url, hostless } = parsed;
  if (url.password !== '') url.password = MASK;
  for (const name of new Set(url.searchParams.keys())) {
    if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, MASK);
  }
  return hostless ? url.href.replace(`@${PLACEHOLDER_HOST}/`, '@/') : url.href;
}

function describeSecret(value: string | null): string {
  return value === null ? 'unset' : 'set';
}

function describeMasterKeys(keys: Config['masterKeys']): string {
  if (keys === null) return 'unset';
  return keys.length === 1 ? 'set (1 key)' : `set (${keys.length} keys)`;
}

function describeDatabase(database: Config['database']): Pick<ConfigDescription, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_PREPARED_STATEMENTS'> {
  if (database.engine === 'pglite') {
    return { DATABASE_URL: `unset (embedded PGlite in ${database.dataDir})`, DATABASE_POOL_MAX: null, DATABASE_PREPARED_STATEMENTS: null };
  }
  return { DATABASE_URL: maskURL(database.url), DATABASE_POOL_MAX: database.poolMax, DATABASE_PREPARED_STATEMENTS: database.preparedStatements };
}

function describeTrustProxy(trustProxy: Config['trustProxy']): string | number | boolean {
  return typeof trustProxy === 'object' ? trustProxy.join(',') : trustProxy;
}

function describeOrigins(origins: Config['cors']['origins']): string {
  if (typeof origins === 'string') return origins;
  return origins.length === 0 ? 'none (no cross-origin access)' : origins.join(',');
}

export function describeConfig(config: Config): ConfigDescription {
  return {
    GATEHOUSE_ENV: config.environment,
    HOST: config.host,
    PORT: config.port,
    DATA_DIR: config.dataDir,
    PUBLIC_URL: config.publicURL,
    ...describeDatabase(config.database),
    REDIS_URL: config.redisURL === null ? 'unset' : maskURL(config.redisURL),
    REDIS_CLUSTER: config.redisCluster,
    GATEHOUSE_MASTER_KEY: describeMasterKeys(config.masterKeys),
    CORS_ORIGINS: describeOrigins(config.cors.origins),
    CORS_CREDENTIALS: config.cors.credentials,
    SMTP_URL: config.smtp.url === null ? 'unset' : maskURL(config.smtp.url),
    SMTP_FROM: config.smtp.from,
    TRUST_PROXY: describeTrustProxy(config.trustProxy),
    TLS_CERT_FILE: config.tls?.certFile ?? 'unset (plain HTTP)',
    TLS_KEY_FILE: config.tls === null ? 'unset' : 'set',
    LOG_LEVEL: config.logLevel,
    RATE_LIMIT_MAX: config.rateLimit.max,
    RATE_LIMIT_WINDOW_SECONDS: config.rateLimit.windowSeconds,
    BODY_LIMIT_BYTES: config.bodyLimitBytes,
    SHUTDOWN_TIMEOUT_SECONDS: config.shutdownTimeoutSeconds,
    WORKERS: config.workers,
    METRICS_TOKEN: describeSecret(config.metricsToken),
    ACCESS_TOKEN_TTL: config.auth.accessTokenTtl,
    ACCESS_TOKEN_AUDIENCE: config.auth.accessTokenAudience,
    REFRESH_IDLE_TTL: config.auth.refreshIdleTtl,
    SESSION_MAX_AGE: config.auth.sessionMaxAge,
    REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: config.auth.refreshTokenReuseInterval,
    LOCKOUT_THRESHOLD: config.auth.lockoutThreshold,
    LOCKOUT_DURATION: config.auth.lockoutDuration,
    PASSWORD_MIN_LENGTH: config.auth.passwordMinLength,
    AUTH_RATE_LIMIT_MAX: config.auth.ipLimit.max,
    AUTH_RATE_LIMIT_WINDOW: config.auth.ipLimit.windowSeconds,
    AUTH_ACCOUNT_RATE_LIMIT_MAX: config.auth.accountLimit.max,
    AUTH_ACCOUNT_RATE_LIMIT_WINDOW: config.auth.accountLimit.windowSeconds,
    MFA_REQUIRED_ROLES: config.auth.mfaRequiredRoles.length === 0 ? 'none' : config.auth.mfaRequiredRoles.join(','),
    REAUTH_MAX_AGE: config.auth.reauthMaxAge,
    ACCOUNT_DELETION_GRACE_DAYS: config.auth.accountDeletionGraceDays,
    IP_RETENTION_DAYS: config.auth.ipRetentionDays,
    AUDIT_RETENTION_DAYS: config.administration.auditRetentionDays ?? 'keep forever',
    BOOTSTRAP_ADMIN_EMAIL: config.administration.bootstrapAdmin?.email ?? 'unset',
    BOOTSTRAP_ADMIN_PASSWORD_FILE: config.administration.bootstrapAdmin?.passwordFile ?? 'unset',
    SECURITY_WEBHOOK_URLS: config.administration.webhooks.urls.length === 0 ? 'none' : config.administration.webhooks.urls.map(maskURL).join(','),
    SECURITY_WEBHOOK_SECRET: describeSecret(config.administration.webhooks.secret),
    SECURITY_WEBHOOK_SECRET_PREVIOUS: describeSecret(config.administration.webhooks.previousSecret),
    WEBHOOK_INCLUDE_IP: config.administration.webhooks.includeIp,
    METRICS_PORT: config.administration.metricsPort,
    UPLOAD_MAX_BYTES: config.uploads.maxBytes,
    UPLOAD_QUOTA_BYTES: config.uploads.quotaBytes,
    UPLOAD_RATE_LIMIT_MAX: config.uploads.rateLimit.max,
    UPLOAD_RATE_LIMIT_WINDOW: config.uploads.rateLimit.windowSeconds,
    FILES_DIR: config.uploads.filesDir ?? 'unset (files in the database)',
    BACKUP_DIR: config.backups.dir ?? 'unset (no scheduled backups)',
    BACKUP_SCHEDULE: config.backups.schedule,
    BACKUP_KEEP: config.backups.keep,
    BACKUP_RECIPIENTS: config.backups.recipients.length === 0 ? 'none' : `${config.backups.recipients.length} age recipient(s)`,
  };
}
