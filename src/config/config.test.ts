import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, formatConfigProblems, loadConfig, type Config, type ConfigProblem, type LoadConfigOptions } from './config.ts';
import { describeConfig } from './mask.ts';
import { parseWorkers } from './workers.ts';

type Env = Record<string, string | undefined>;
const CWD = '/srv/gatehouse';

function load(env: Env, options: LoadConfigOptions = {}): Config {
  return loadConfig(env, { cwd: CWD, ...options });
}

function problemsOf(env: Env, options: LoadConfigOptions = {}): ConfigProblem[] {
  try {
    load(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return assert.fail('expected a ConfigError');
}

function namesOf(env: Env, options: LoadConfigOptions = {}): string[] {
  return problemsOf(env, options).map((problem) => problem.name);
}

function newMasterKey(id: string): string {
  return `${id}:${randomBytes(32).toString('base64url')}`;
}

function filesFrom(files: Record<string, string>): LoadConfigOptions {
  return {
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    },
  };
}

describe('loadConfig defaults', () => {
  it('loads every default in development from an empty environment', () => {
    const config = load({});
    assert.deepEqual({ ...config }, {
      environment: 'development',
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/srv/gatehouse/data',
      publicURL: 'http://127.0.0.1:8080',
      database: { engine: 'pglite', dataDir: '/srv/gatehouse/data/pglite' },
      redisURL: null,
      redisCluster: false,
      masterKeys: null,
      cors: { origins: [], credentials: false },
      smtp: { url: null, from: 'Gatehouse <no-reply@localhost>' },
      trustProxy: false,
      tls: null,
      logLevel: 'info',
      rateLimit: { max: 300, windowSeconds: 60 },
      bodyLimitBytes: 65536,
      shutdownTimeoutSeconds: 10,
      workers: 1,
      metricsToken: null,
      auth: {
        accessTokenTtl: 1800,
        accessTokenAudience: 'http://127.0.0.1:8080',
        refreshIdleTtl: 604_800,
        sessionMaxAge: 2_592_000,
        refreshTokenReuseInterval: 10,
        lockoutThreshold: 5,
        lockoutDuration: 900,
        passwordMinLength: 12,
        ipLimit: { max: 30, windowSeconds: 60 },
        accountLimit: { max: 10, windowSeconds: 900 },
        mfaRequiredRoles: ['admin'],
        reauthMaxAge: 600,
        accountDeletionGraceDays: 7,
        ipRetentionDays: 30,
      },
      administration: {
        auditRetentionDays: null,
        bootstrapAdmin: null,
        webhooks: { urls: [], secret: null, previousSecret: null, includeIp: false },
        metricsPort: null,
      },
      uploads: { maxBytes: 5_242_880, quotaBytes: 52_428_800, rateLimit: { max: 30, windowSeconds: 3600 }, filesDir: null },
      backups: { dir: null, schedule: '0 3 * * *', keep: 7, recipients: [] },
    });
  });

  it('treats an empty variable as unset', () => {
    assert.equal(load({ PORT: '', GATEHOUSE_ENV: '', CORS_ORIGINS: '' }).port, 8080);
  });

  it('returns a deeply frozen config', () => {
    const config = load({ GATEHOUSE_MASTER_KEY: newMasterKey('k1'), CORS_ORIGINS: 'https://a.example.com' });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.cors));
    assert.ok(Object.isFrozen(config.cors.origins));
    assert.ok(Object.isFrozen(config.masterKeys));
    assert.ok(Object.isFrozen(config.masterKeys?.[0]));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('resolves DATA_DIR to an absolute path and puts PGlite inside it', () => {
    const config = load({ DATA_DIR: 'var/state' });
    assert.equal(config.dataDir, '/srv/gatehouse/var/state');
    assert.deepEqual(config.database, { engine: 'pglite', dataDir: '/srv/gatehouse/var/state/pglite' });
  });

  it('selects PostgreSQL when DATABASE_URL is set, with the pool size', () => {
    const url = 'postgresql://gatehouse@localhost:5432/gatehouse';
    assert.deepEqual(load({ DATABASE_URL: url, DATABASE_POOL_MAX: '25' }).database, { engine: 'postgres', url, poolMax: 25, preparedStatements: true });
    assert.deepEqual(namesOf({ DATABASE_URL: 'mysql://localhost/gatehouse' }), ['DATABASE_URL']);
  });

  it('prepares statements unless DATABASE_PREPARED_STATEMENTS=false, and refuses anything but true or false', () => {
    const url = 'postgresql://gatehouse@localhost:5432/gatehouse';
    assert.deepEqual(load({ DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: 'false' }).database, { engine: 'postgres', url, poolMax: 10, preparedStatements: false });
    assert.deepEqual(load({ DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: 'true' }).database, { engine: 'postgres', url, poolMax: 10, preparedStatements: true });
    for (const value of ['0', 'off', 'FALSE', 'no']) assert.deepEqual(namesOf({ DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: value }), ['DATABASE_PREPARED_STATEMENTS']);
  });
});

describe('PUBLIC_URL', () => {
  it('defaults to http://HOST:PORT, bracketing an IPv6 host', () => {
    assert.equal(load({ HOST: '0.0.0.0', PORT: '3000' }).publicURL, 'http://0.0.0.0:3000');
    assert.equal(load({ HOST: '::1' }).publicURL, 'http://[::1]:8080');
  });

  it('drops a trailing slash so the issuer has one spelling', () => {
    assert.equal(load({ PUBLIC_URL: 'https://ID.example.com/' }).publicURL, 'https://id.example.com');
    assert.equal(load({ PUBLIC_URL: 'https://example.com/auth/' }).publicURL, 'https://example.com/auth');
  });

  for (const value of ['id.example.com', '/auth', 'ftp://example.com', 'https://example.com/?a=1', 'https://example.com/?', 'https://example.com/#top', 'https://user:pw@example.com']) {
    it(`refuses ${value}`, () => {
      assert.deepEqual(namesOf({ PUBLIC_URL: value }), ['PUBLIC_URL']);
    });
  }
});

describe('strict values', () => {
  for (const value of ['12abc', '1e3', '80.0', '8.5', '0x50', '+80', '-1', ' 80', '80 ', '080', '0', '65536', '99999999999999999999']) {
    it(`refuses PORT=${JSON.stringify(value)}`, () => {
      assert.deepEqual(problemsOf({ PORT: value }), [{ name: 'PORT', rule: 'must be a whole number from 1 to 65535' }]);
    });
  }

  it('enforces every integer range at both ends', () => {
    const ranges: [string, number, number][] = [
      ['PORT', 1, 65535], ['DATABASE_POOL_MAX', 1, 200], ['RATE_LIMIT_MAX', 1, 1_000_000], ['RATE_LIMIT_WINDOW_SECONDS', 1, 86_400],
      ['BODY_LIMIT_BYTES', 1024, 10_485_760], ['SHUTDOWN_TIMEOUT_SECONDS', 1, 300],
    ];
    for (const [name, min, max] of ranges) {
      assert.doesNotThrow(() => load({ [name]: String(min) }));
      assert.doesNotThrow(() => load({ [name]: String(max) }));
      assert.deepEqual(namesOf({ [name]: String(min - 1) }), [name]);
      assert.deepEqual(namesOf({ [name]: String(max + 1) }), [name]);
    }
  });

  it('accepts only true and false as booleans', () => {
    assert.equal(load({ CORS_CREDENTIALS: 'true', CORS_ORIGINS: 'https://a.example.com' }).cors.credentials, true);
    for (const value of ['1', 'yes', 'TRUE', 'on']) assert.deepEqual(namesOf({ CORS_CREDENTIALS: value }), ['CORS_CREDENTIALS']);
  });

  it('accepts only the listed LOG_LEVEL and GATEHOUSE_ENV values', () => {
    assert.equal(load({ LOG_LEVEL: 'silent' }).logLevel, 'silent');
    assert.deepEqual(namesOf({ LOG_LEVEL: 'verbose' }), ['LOG_LEVEL']);
    assert.ok(namesOf({ GATEHOUSE_ENV: 'Development' }).includes('GATEHOUSE_ENV'));
  });

  it('checks HOST, SMTP_FROM, METRICS_TOKEN, REDIS_URL and SMTP_URL', () => {
    assert.deepEqual(namesOf({ HOST: 'not a host' }), ['HOST']);
    assert.equal(load({ SMTP_FROM: 'id@example.com' }).smtp.from, 'id@example.com');
    assert.deepEqual(namesOf({ SMTP_FROM: 'nobody' }), ['SMTP_FROM']);
    assert.deepEqual(namesOf({ METRICS_TOKEN: 'x'.repeat(31) }), ['METRICS_TOKEN']);
    assert.equal(load({ METRICS_TOKEN: 'x'.repeat(32) }).metricsToken, 'x'.repeat(32));
    assert.equal(load({ REDIS_URL: 'rediss://cache:6380' }).redisURL, 'rediss://cache:6380');
    assert.deepEqual(namesOf({ REDIS_URL: 'http://cache' }), ['REDIS_URL']);
    assert.equal(load({ SMTP_URL: 'smtp://mail:587' }).smtp.url, 'smtp://mail:587');
    assert.deepEqual(namesOf({ SMTP_URL: 'https://mail' }), ['SMTP_URL']);
  });

  it('reads REDIS_CLUSTER: false by default, true only with a REDIS_URL a cluster client can use', () => {
    assert.equal(load({ REDIS_URL: 'rediss://cache:6380' }).redisCluster, false);
    const cluster = load({ REDIS_URL: 'rediss://gatehouse:hunter3@node-1.cache:6380', REDIS_CLUSTER: 'true' });
    assert.equal(cluster.redisCluster, true);
    assert.equal(cluster.redisURL, 'rediss://gatehouse:hunter3@node-1.cache:6380');
    assert.equal(load({ REDIS_URL: 'redis://127.0.0.1:7101/0', REDIS_CLUSTER: 'true' }).redisCluster, true);
    assert.equal(load({ REDIS_URL: 'redis://127.0.0.1:7101/', REDIS_CLUSTER: 'false' }).redisCluster, false);
    for (const value of ['1', 'yes', 'TRUE', 'on']) assert.deepEqual(namesOf({ REDIS_URL: 'redis://127.0.0.1:7101', REDIS_CLUSTER: value }), ['REDIS_CLUSTER']);
    // Nonsense combinations are refused, not half-applied.
    assert.deepEqual(problemsOf({ REDIS_CLUSTER: 'true' }), [{ name: 'REDIS_CLUSTER', rule: 'must not be true without REDIS_URL (the address of one node of the cluster)' }]);
    assert.deepEqual(namesOf({ REDIS_URL: 'redis://127.0.0.1:7101/15', REDIS_CLUSTER: 'true' }), ['REDIS_URL']);
    assert.match(problemsOf({ REDIS_URL: 'redis://127.0.0.1:7101/15', REDIS_CLUSTER: 'true' })[0]?.rule ?? '', /database other than 0/);
    assert.deepEqual(namesOf({ REDIS_URL: 'redis://127.0.0.1:7101?family=6', REDIS_CLUSTER: 'true' }), ['REDIS_URL']);
    assert.deepEqual(namesOf({ REDIS_URL: 'redis://127.0.0.1:7101?', REDIS_CLUSTER: 'true' }), ['REDIS_URL']);
    // A malformed REDIS_URL is reported once, under its own name.
    assert.deepEqual(namesOf({ REDIS_URL: 'http://cache', REDIS_CLUSTER: 'true' }), ['REDIS_URL']);
    // The same URLs are fine for a single node.
    assert.equal(load({ REDIS_URL: 'redis://127.0.0.1:6379/15' }).redisURL, 'redis://127.0.0.1:6379/15');
  });

  it('lists every problem at once, in one error', () => {
    assert.deepEqual(namesOf({ PORT: 'x', LOG_LEVEL: 'x', TRUST_PROXY: 'x', BODY_LIMIT_BYTES: '1' }), ['PORT', 'TRUST_PROXY', 'LOG_LEVEL', 'BODY_LIMIT_BYTES']);
  });

  it('formats one line per problem for stderr', () => {
    const error = new ConfigError([{ name: 'PORT', rule: 'must be a whole number from 1 to 65535' }, { name: 'HOST', rule: 'must be an IP address or a host name' }]);
    assert.equal(formatConfigProblems(error), [
      'Gatehouse cannot start: the configuration has 2 problems.',
      '  - PORT: must be a whole number from 1 to 65535',
      '  - HOST: must be an IP address or a host name',
      'Every variable and its rules are documented in .env.example.',
    ].join('\n'));
    assert.equal(error.code, 'ERR_CONFIG_INVALID');
  });
});

describe('CORS_ORIGINS and TRUST_PROXY', () => {
  it('keeps exact origins, normalised and without duplicates', () => {
    const origins = load({ CORS_ORIGINS: 'https://App.example.com, http://localhost:5173,https://app.example.com:443' }).cors.origins;
    assert.deepEqual(origins, ['https://app.example.com', 'http://localhost:5173']);
  });

  it('allows * alone in development', () => {
    assert.equal(load({ CORS_ORIGINS: '*' }).cors.origins, '*');
    assert.deepEqual(namesOf({ CORS_ORIGINS: '*,https://a.example.com' }), ['CORS_ORIGINS']);
  });

  for (const value of ['https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'null', 'https://*.example.com', 'file:///tmp', 'https://u@app.example.com']) {
    it(`refuses the origin ${value}`, () => {
      assert.deepEqual(namesOf({ CORS_ORIGINS: value }), ['CORS_ORIGINS']);
    });
  }

  it('accepts false, true, a hop count, or addresses and CIDR ranges', () => {
    assert.equal(load({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(load({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(load({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(load({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1,fd00::/8' }).trustProxy, ['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
    for (const value of ['0', '11', '1.5', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'proxy.local', 'yes']) {
      assert.deepEqual(namesOf({ TRUST_PROXY: value }), ['TRUST_PROXY'], value);
    }
  });
});

describe('secrets from files (NAME_FILE)', () => {
  it('reads each secret-capable variable from its file, stripping one trailing newline', () => {
    const key = newMasterKey('k1');
    const token = randomBytes(32).toString('base64url');
    const config = load({
      GATEHOUSE_MASTER_KEY_FILE: '/run/secrets/master',
      METRICS_TOKEN_FILE: '/run/secrets/metrics',
      SMTP_URL_FILE: '/run/secrets/smtp',
      DATABASE_URL_FILE: '/run/secrets/db',
      REDIS_URL_FILE: '/run/secrets/redis',
    }, filesFrom({
      '/run/secrets/master': `${key}\n`,
      '/run/secrets/metrics': `${token}\r\n`,
      '/run/secrets/smtp': 'smtp://mailer:pw@mail\n',
      '/run/secrets/db': 'postgres://gh:pw@db/gh',
      '/run/secrets/redis': 'redis://:pw@cache\n',
    }));
    assert.equal(config.masterKeys?.[0]?.id, 'k1');
    assert.equal(config.metricsToken, token);
    assert.equal(config.smtp.url, 'smtp://mailer:pw@mail');
    assert.deepEqual(config.database, { engine: 'postgres', url: 'postgres://gh:pw@db/gh', poolMax: 10, preparedStatements: true });
    assert.equal(config.redisURL, 'redis://:pw@cache');
  });

  it('strips only one newline, keeping the rest of the secret', () => {
    const token = 'y'.repeat(32);
    assert.equal(load({ METRICS_TOKEN_FILE: '/t' }, filesFrom({ '/t': `${token} \n` })).metricsToken, `${token} `);
    assert.deepEqual(namesOf({ METRICS_TOKEN_FILE: '/t' }, filesFrom({ '/t': `${token}\n\n` })), ['METRICS_TOKEN']);
  });

  it('reads a real file by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-config-'));
    try {
      const key = newMasterKey('k1');
      await writeFile(join(dir, 'master'), `${key}\n`, { mode: 0o600 });
      const config = loadConfig({ GATEHOUSE_MASTER_KEY_FILE: join(dir, 'master') });
      assert.equal(config.masterKeys?.[0]?.key.toString('base64url'), key.slice(3));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses NAME and NAME_FILE set together, for every secret-capable variable', () => {
    for (const name of ['GATEHOUSE_MASTER_KEY', 'SMTP_URL', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL']) {
      const problems = problemsOf({ [name]: 'x', [`${name}_FILE`]: '/f' }, filesFrom({ '/f': 'y' }));
      assert.deepEqual(problems, [{ name, rule: `set either ${name} or ${name}_FILE, not both` }]);
    }
  });

  it('reports an unreadable or empty file by name, with the error code only', () => {
    assert.deepEqual(problemsOf({ SMTP_URL_FILE: '/nope' }, filesFrom({})), [{ name: 'SMTP_URL', rule: 'SMTP_URL_FILE names a file that cannot be read (ENOENT)' }]);
    assert.deepEqual(problemsOf({ SMTP_URL_FILE: '/empty' }, filesFrom({ '/empty': '\n' })), [{ name: 'SMTP_URL', rule: 'SMTP_URL_FILE names an empty file' }]);
  });
});

describe('describeConfig', () => {
  it('shows every value, with secrets as set/unset and URL passwords masked', () => {
    const config = load({
      GATEHOUSE_MASTER_KEY: `${newMasterKey('k3')},${newMasterKey('k2')},${newMasterKey('k1')}`,
      DATABASE_URL: 'postgres://gatehouse:hunter2@db:5432/gh?sslmode=verify-full',
      REDIS_URL: 'rediss://:hunter3@cache:6380',
      SMTP_URL: 'smtps://mailer:hunter4@mail:465',
      TRUST_PROXY: '10.0.0.0/8,10.1.0.0/16',
    });
    const description = describeConfig(config);
    assert.equal(description['GATEHOUSE_MASTER_KEY'], 'set (3 keys)');
    assert.equal(description['METRICS_TOKEN'], 'unset');
    assert.equal(description['DATABASE_URL'], 'postgres://gatehouse:***@db:5432/gh?sslmode=verify-full');
    assert.equal(description['REDIS_URL'], 'rediss://:***@cache:6380');
    assert.equal(description['SMTP_URL'], 'smtps://mailer:***@mail:465');
    assert.equal(description['TRUST_PROXY'], '10.0.0.0/8,10.1.0.0/16');
    assert.equal(description['PORT'], 8080);
    assert.equal(description['REDIS_CLUSTER'], false);
    assert.equal(Object.keys(description).length, 58);
    assert.equal(description['DATABASE_PREPARED_STATEMENTS'], true);
    assert.equal(description['TLS_CERT_FILE'], 'unset (plain HTTP)');
    assert.equal(description['IP_RETENTION_DAYS'], 30);
    assert.equal(description['WEBHOOK_INCLUDE_IP'], false);
    assert.equal(description['ACCOUNT_DELETION_GRACE_DAYS'], 7);
    assert.equal(description['MFA_REQUIRED_ROLES'], 'admin');
    assert.equal(description['SECURITY_WEBHOOK_SECRET'], 'unset');
    assert.equal(description['AUDIT_RETENTION_DAYS'], 'keep forever');
    assert.equal(description['ACCESS_TOKEN_TTL'], 1800);
  });

  it('masks the password of a hostless (Unix socket) DATABASE_URL too', () => {
    const config = load({ DATABASE_URL: 'postgres://gatehouse:hunter2@/gh?host=/run/postgresql' });
    assert.equal(describeConfig(config)['DATABASE_URL'], 'postgres://gatehouse:***@/gh?host=/run/postgresql');
  });
});

describe('auth settings', () => {
  it('default to the documented lifetimes and limits', () => {
    const { auth, publicURL } = loadConfig({});
    assert.equal(auth.accessTokenTtl, 1800);
    assert.equal(auth.accessTokenAudience, publicURL);
    assert.equal(auth.refreshIdleTtl, 7 * 86_400);
    assert.equal(auth.sessionMaxAge, 30 * 86_400);
    assert.equal(auth.refreshTokenReuseInterval, 10);
    assert.equal(auth.lockoutThreshold, 5);
    assert.equal(auth.lockoutDuration, 900);
    assert.equal(auth.passwordMinLength, 12);
  });

  it('accept durations with units', () => {
    const { auth } = loadConfig({ ACCESS_TOKEN_TTL: '15m', REFRESH_IDLE_TTL: '2d', SESSION_MAX_AGE: '30d', LOCKOUT_DURATION: '1h' });
    assert.equal(auth.accessTokenTtl, 900);
    assert.equal(auth.refreshIdleTtl, 2 * 86_400);
    assert.equal(auth.lockoutDuration, 3600);
  });

  it('refuse a password minimum below 8, malformed durations, and an idle TTL past the session lifetime', () => {
    assert.throws(
      () => loadConfig({ PASSWORD_MIN_LENGTH: '7', ACCESS_TOKEN_TTL: '5x', REFRESH_IDLE_TTL: '40d', SESSION_MAX_AGE: '30d' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const names = error.problems.map((problem) => problem.name);
        assert.ok(names.includes('PASSWORD_MIN_LENGTH'));
        assert.ok(names.includes('ACCESS_TOKEN_TTL'));
        assert.ok(names.includes('REFRESH_IDLE_TTL'));
        return true;
      },
    );
  });
  it('take MFA_REQUIRED_ROLES as a comma-separated list of role names (or none) and REAUTH_MAX_AGE as a duration', () => {
    assert.deepEqual(loadConfig({ MFA_REQUIRED_ROLES: 'admin, support,admin' }).auth.mfaRequiredRoles, ['admin', 'support']);
    assert.deepEqual(loadConfig({ MFA_REQUIRED_ROLES: 'none' }).auth.mfaRequiredRoles, []);
    assert.equal(loadConfig({ REAUTH_MAX_AGE: '5m' }).auth.reauthMaxAge, 300);
    for (const [name, raw] of [['MFA_REQUIRED_ROLES', 'Admin'], ['MFA_REQUIRED_ROLES', 'admin;support'], ['MFA_REQUIRED_ROLES', ','], ['REAUTH_MAX_AGE', '10'], ['REAUTH_MAX_AGE', '2d']] as const) {
      assert.throws(
        () => loadConfig({ [name]: raw }),
        (error: unknown) => error instanceof ConfigError && error.problems.some((problem) => problem.name === name),
        `${name}=${raw}`,
      );
    }
  });

  it('take REFRESH_TOKEN_REUSE_INTERVAL_SECONDS from 0 (strict single use) to 60, whole seconds only', () => {
    assert.equal(loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: '0' }).auth.refreshTokenReuseInterval, 0);
    assert.equal(loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: '60' }).auth.refreshTokenReuseInterval, 60);
    for (const raw of ['61', '-1', '2.5', '10s', 'ten']) {
      assert.throws(
        () => loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL_SECONDS: raw }),
        (error: unknown) => error instanceof ConfigError && error.problems.some((problem) => problem.name === 'REFRESH_TOKEN_REUSE_INTERVAL_SECONDS'),
        raw,
      );
    }
  });
});

describe('administration settings', () => {
  const secret = 'w'.repeat(40);

  it('reads retention, the bootstrap admin, webhooks and the metrics port', () => {
    const config = load({
      AUDIT_RETENTION_DAYS: '400',
      BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
      BOOTSTRAP_ADMIN_PASSWORD_FILE: '/run/secrets/admin',
      SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/hook, https://siem.example.com/in',
      SECURITY_WEBHOOK_SECRET: secret,
      METRICS_PORT: '9464',
    });
    assert.deepEqual({ ...config.administration }, {
      auditRetentionDays: 400,
      bootstrapAdmin: { email: 'root@example.com', passwordFile: '/run/secrets/admin' },
      webhooks: { urls: ['http://127.0.0.1:9000/hook', 'https://siem.example.com/in'], secret, previousSecret: null, includeIp: false },
      metricsPort: 9464,
    });
  });

  it('lists a webhook receiver once, however its URL is spelled (the queue keys a job by event and receiver)', () => {
    const config = load({ SECURITY_WEBHOOK_URLS: 'https://siem.example.com/in, HTTPS://SIEM.example.com/in,https://siem.example.com:443/in', SECURITY_WEBHOOK_SECRET: secret });
    assert.deepEqual(config.administration.webhooks.urls, ['https://siem.example.com/in']);
  });

  it('refuses a bootstrap email without a password file, and the reverse', () => {
    assert.deepEqual(namesOf({ BOOTSTRAP_ADMIN_EMAIL: 'root@example.com' }), ['BOOTSTRAP_ADMIN_PASSWORD_FILE']);
    assert.deepEqual(namesOf({ BOOTSTRAP_ADMIN_PASSWORD_FILE: '/run/secrets/admin' }), ['BOOTSTRAP_ADMIN_EMAIL']);
    assert.deepEqual(namesOf({ BOOTSTRAP_ADMIN_EMAIL: 'not an email', BOOTSTRAP_ADMIN_PASSWORD_FILE: '/x' }), ['BOOTSTRAP_ADMIN_EMAIL']);
  });

  it('refuses webhooks without a strong secret, with credentials in the URL, or over http in production', () => {
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/' }), ['SECURITY_WEBHOOK_SECRET']);
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: 'short' }), ['SECURITY_WEBHOOK_SECRET']);
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://u:p@127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret }), ['SECURITY_WEBHOOK_URLS']);
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'ftp://127.0.0.1/', SECURITY_WEBHOOK_SECRET: secret }), ['SECURITY_WEBHOOK_URLS']);
    const production = namesOf({ GATEHOUSE_ENV: 'production', SECURITY_WEBHOOK_URLS: 'http://siem.example.com/', SECURITY_WEBHOOK_SECRET: secret });
    assert.ok(production.includes('SECURITY_WEBHOOK_URLS'));
    assert.equal(load({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, WEBHOOK_INCLUDE_IP: 'true' }).administration.webhooks.includeIp, true);
    assert.deepEqual(namesOf({ WEBHOOK_INCLUDE_IP: 'yes' }), ['WEBHOOK_INCLUDE_IP']);
  });

  it('reads the previous webhook secret of a rotation window, from the environment or a file', () => {
    const previous = 'p'.repeat(40);
    const direct = load({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS: previous });
    assert.equal(direct.administration.webhooks.previousSecret, previous);
    assert.equal(describeConfig(direct)['SECURITY_WEBHOOK_SECRET_PREVIOUS'], 'set');
    assert.ok(!JSON.stringify(describeConfig(direct)).includes(previous), 'never printed');
    const fromFile = load(
      { SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS_FILE: '/run/secrets/old' },
      filesFrom({ '/run/secrets/old': `${previous}\n` }),
    );
    assert.equal(fromFile.administration.webhooks.previousSecret, previous);
    assert.equal(describeConfig(load({})).SECURITY_WEBHOOK_SECRET_PREVIOUS, 'unset');
  });

  it('refuses a weak previous webhook secret, in production too, without echoing it', () => {
    const weak = 'old-but-short';
    const production = { GATEHOUSE_ENV: 'production', SECURITY_WEBHOOK_URLS: 'https://siem.example.com/in', SECURITY_WEBHOOK_SECRET: secret };
    const problems = problemsOf({ ...production, SECURITY_WEBHOOK_SECRET_PREVIOUS: weak });
    const refusal = problems.find((problem) => problem.name === 'SECURITY_WEBHOOK_SECRET_PREVIOUS');
    assert.ok(refusal !== undefined, JSON.stringify(problems));
    assert.ok(!JSON.stringify(problems).includes(weak));
    assert.ok(!namesOf({ ...production, SECURITY_WEBHOOK_SECRET_PREVIOUS: 'p'.repeat(40) }).includes('SECURITY_WEBHOOK_SECRET_PREVIOUS'), 'a strong one passes');
    const control = `${'p'.repeat(39)}\u0007`;
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS: control }), ['SECURITY_WEBHOOK_SECRET_PREVIOUS']);
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS: 'p'.repeat(513) }), ['SECURITY_WEBHOOK_SECRET_PREVIOUS']);
  });

  it('refuses a previous webhook secret alone, or equal to the current one', () => {
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_SECRET_PREVIOUS: 'p'.repeat(40) }), ['SECURITY_WEBHOOK_SECRET_PREVIOUS']);
    assert.deepEqual(namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS: secret }), ['SECURITY_WEBHOOK_SECRET_PREVIOUS']);
    assert.deepEqual(
      namesOf({ SECURITY_WEBHOOK_URLS: 'http://127.0.0.1:9000/', SECURITY_WEBHOOK_SECRET: secret, SECURITY_WEBHOOK_SECRET_PREVIOUS: 'p'.repeat(40), SECURITY_WEBHOOK_SECRET_PREVIOUS_FILE: '/x' }),
      ['SECURITY_WEBHOOK_SECRET_PREVIOUS'],
    );
  });

  it('refuses a metrics port equal to PORT and retention out of range', () => {
    assert.deepEqual(namesOf({ PORT: '9000', METRICS_PORT: '9000' }), ['METRICS_PORT']);
    assert.deepEqual(namesOf({ AUDIT_RETENTION_DAYS: '0' }), ['AUDIT_RETENTION_DAYS']);
  });
});

describe('upload settings', () => {
  it('defaults to 5 MiB a file, 50 MiB an account and 30 uploads an hour', () => {
    assert.deepEqual(load({}).uploads, { maxBytes: 5_242_880, quotaBytes: 52_428_800, rateLimit: { max: 30, windowSeconds: 3600 }, filesDir: null });
    assert.equal(load({ FILES_DIR: '/srv/files' }).uploads.filesDir, '/srv/files');
    assert.ok(load({ FILES_DIR: 'relative/files' }).uploads.filesDir?.endsWith('/relative/files'));
    assert.deepEqual(namesOf({ FILES_DIR: 'a\0b' }), ['FILES_DIR']);
    assert.deepEqual(load({ UPLOAD_RATE_LIMIT_WINDOW: '15m' }).uploads.rateLimit.windowSeconds, 900);
  });

  it('enforces each bound at both ends, and a quota no smaller than one file', () => {
    const ranges: [string, number, number][] = [
      ['UPLOAD_MAX_BYTES', 1024, 104_857_600], ['UPLOAD_QUOTA_BYTES', 104_857_600, 1_099_511_627_776], ['UPLOAD_RATE_LIMIT_MAX', 1, 100_000], ['UPLOAD_RATE_LIMIT_WINDOW', 1, 86_400],
    ];
    for (const [name, min, max] of ranges) {
      // A quota is checked against the largest file size, so each end is tried with both at their extremes.
      const base = name === 'UPLOAD_QUOTA_BYTES' ? { UPLOAD_MAX_BYTES: '104857600' } : { UPLOAD_QUOTA_BYTES: '104857600' };
      assert.doesNotThrow(() => load({ ...base, [name]: String(min) }), name);
      assert.doesNotThrow(() => load({ ...base, [name]: String(max) }), name);
      assert.deepEqual(namesOf({ ...base, [name]: String(max + 1) }), [name]);
    }
    for (const name of ['UPLOAD_MAX_BYTES', 'UPLOAD_RATE_LIMIT_MAX', 'UPLOAD_RATE_LIMIT_WINDOW']) {
      assert.deepEqual(namesOf({ [name]: name === 'UPLOAD_MAX_BYTES' ? '1023' : '0' }), [name]);
    }
    assert.deepEqual(namesOf({ UPLOAD_QUOTA_BYTES: '1023' }), ['UPLOAD_QUOTA_BYTES']);
    assert.deepEqual(namesOf({ UPLOAD_MAX_BYTES: '2048', UPLOAD_QUOTA_BYTES: '2047' }), ['UPLOAD_QUOTA_BYTES']);
  });
});

describe('backups', () => {
  const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
  it('need recipients with BACKUP_DIR, and refuse an identity, a cron expression that is not one or never fires, and a bad keep', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        load(env);
        return [];
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.problems.map((problem) => problem.name);
      }
    };
    assert.deepEqual(problems({ BACKUP_DIR: '/var/backups/gatehouse' }), ['BACKUP_RECIPIENTS']);
    assert.deepEqual(problems({ BACKUP_RECIPIENTS: 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ' }), ['BACKUP_RECIPIENTS']);
    for (const schedule of ['every day', '0 3 * *', '0 0 30 2 *', '*/5 * * * * *']) assert.deepEqual(problems({ BACKUP_SCHEDULE: schedule }), ['BACKUP_SCHEDULE'], schedule);
    assert.deepEqual(problems({ BACKUP_KEEP: '0' }), ['BACKUP_KEEP']);
  });

  it('accept recipients listed with commas or spaces, and a valid schedule', () => {
    const config = load({ BACKUP_DIR: 'backups', BACKUP_RECIPIENTS: `${recipient}, ${recipient}`, BACKUP_SCHEDULE: '30 2 * * 0', BACKUP_KEEP: '30' });
    assert.deepEqual(config.backups.recipients, [recipient, recipient]);
    assert.ok(config.backups.dir?.startsWith('/'));
    assert.equal(config.backups.schedule, '30 2 * * 0');
    assert.equal(config.backups.keep, 30);
  });
});

describe('WORKERS', () => {
  const postgres = { DATABASE_URL: 'postgresql://gatehouse@localhost:5432/gatehouse' };

  it('takes a whole number from 1 to 64 on PostgreSQL, and auto as the available cores (at most 64)', () => {
    assert.equal(load({ ...postgres, WORKERS: '4' }).workers, 4);
    assert.equal(load({ ...postgres, WORKERS: '64' }).workers, 64);
    assert.deepEqual(parseWorkers('auto', () => 2), { ok: true, value: 2 });
    assert.deepEqual(parseWorkers('auto', () => 200), { ok: true, value: 64 });
    const auto = load({ ...postgres, WORKERS: 'auto' }).workers;
    assert.ok(auto >= 1 && auto <= 64);
    assert.equal(describeConfig(load({ ...postgres, WORKERS: '3' }))['WORKERS'], 3);
  });

  it('refuses what is not a count of workers, without echoing it', () => {
    for (const raw of ['0', '65', '-1', '2.5', '1e1', 'AUTO', 'two', ' 2']) {
      const problems = problemsOf({ ...postgres, WORKERS: raw });
      assert.deepEqual(problems.map((problem) => problem.name), ['WORKERS'], raw);
      assert.match(problems[0]?.rule ?? '', /auto or a whole number from 1 to 64/);
    }
  });

  it('refuses more than one worker on the embedded PGlite, naming WORKERS and DATABASE_URL', () => {
    assert.equal(load({ WORKERS: '1' }).workers, 1);
    const problems = problemsOf({ WORKERS: '2' });
    assert.deepEqual(problems.map((problem) => problem.name), ['WORKERS']);
    assert.match(problems[0]?.rule ?? '', /PGlite/);
    assert.match(problems[0]?.rule ?? '', /DATABASE_URL/);
  });
});
