import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { formatMasterKeys } from '../core/crypto/master-key.ts';
import { ConfigError, formatConfigProblems, loadConfig, type Config, type LoadConfigOptions } from './config.ts';
import { ensureDevelopmentMasterKey } from './dev-keys.ts';
import { describeConfig } from './mask.ts';

type Env = Record<string, string | undefined>;

function secret(): string {
  return randomBytes(18).toString('base64url');
}

function newMasterKey(id: string): string {
  return `${id}:${randomBytes(32).toString('base64url')}`;
}

/** A production environment that satisfies every rule; each test breaks one thing. */
function productionEnv(): Env {
  return {
    GATEHOUSE_ENV: 'production',
    GATEHOUSE_MASTER_KEY: `${newMasterKey('k2')},${newMasterKey('k1')}`,
    PUBLIC_URL: 'https://id.example.com',
    DATABASE_URL: `postgres://gatehouse:${secret()}@db.example.com:5432/gatehouse?sslmode=verify-full`,
    REDIS_URL: `rediss://:${secret()}@cache.example.com:6380`,
    SMTP_URL: `smtps://mailer:${secret()}@smtp.example.com:465`,
    CORS_ORIGINS: 'https://app.example.com',
    CORS_CREDENTIALS: 'true',
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    TLS_CERT_FILE: '/run/secrets/tls.crt',
    TLS_KEY_FILE: '/run/secrets/tls.key',
  };
}

function refusal(env: Env, options: LoadConfigOptions = {}): ConfigError {
  try {
    loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return assert.fail('expected a ConfigError');
}

function namesOf(env: Env): string[] {
  return refusal(env).problems.map((problem) => problem.name).sort();
}

/** Everything the error could be printed as: message, stack, stderr text, problems. */
function printed(error: ConfigError): string {
  return [error.message, error.stack ?? '', formatConfigProblems(error), JSON.stringify(error.problems), inspect(error)].join('\n');
}

// 32 copies of one byte: the right length, no entropy.
const WEAK_KEY = `k1:${Buffer.alloc(32, 'a').toString('base64url')}`;

describe('production refuses unsafe configuration', () => {
  it('a valid production configuration loads', () => {
    const config = loadConfig(productionEnv());
    assert.equal(config.environment, 'production');
    assert.equal(config.masterKeys?.length, 2);
    assert.equal(config.database.engine, 'postgres');
  });

  it('a weak key, CORS *, plain-http PUBLIC_URL, no SMTP and sslmode=require are all named in one error', () => {
    const env = {
      ...productionEnv(),
      GATEHOUSE_MASTER_KEY: WEAK_KEY,
      CORS_ORIGINS: '*',
      CORS_CREDENTIALS: 'false',
      PUBLIC_URL: 'http://id.example.com',
      SMTP_URL: undefined,
      DATABASE_URL: `postgres://gatehouse:${secret()}@db.example.com/gatehouse?sslmode=require`,
    };
    assert.deepEqual(namesOf(env), ['CORS_ORIGINS', 'DATABASE_URL', 'GATEHOUSE_MASTER_KEY', 'PUBLIC_URL', 'SMTP_URL']);
  });

  it('a missing master key and a DATABASE_URL without sslmode are both named in one error', () => {
    const env = { ...productionEnv(), GATEHOUSE_MASTER_KEY: undefined, DATABASE_URL: 'postgres://gatehouse@db.example.com/gatehouse' };
    assert.deepEqual(namesOf(env), ['DATABASE_URL', 'GATEHOUSE_MASTER_KEY']);
  });

  // Each control on its own: the valid environment with exactly one thing broken.
  const breaks: [string, Env, string][] = [
    ['no master key', { GATEHOUSE_MASTER_KEY: undefined }, 'GATEHOUSE_MASTER_KEY'],
    ['a low-entropy master key', { GATEHOUSE_MASTER_KEY: WEAK_KEY }, 'GATEHOUSE_MASTER_KEY'],
    ['a master key shorter than 32 bytes', { GATEHOUSE_MASTER_KEY: `k1:${randomBytes(16).toString('base64url')}` }, 'GATEHOUSE_MASTER_KEY'],
    ['CORS * (even without credentials)', { CORS_ORIGINS: '*', CORS_CREDENTIALS: 'false' }, 'CORS_ORIGINS'],
    ['a plain-http PUBLIC_URL', { PUBLIC_URL: 'http://id.example.com' }, 'PUBLIC_URL'],
    ['no PUBLIC_URL (the default is http)', { PUBLIC_URL: undefined }, 'PUBLIC_URL'],
    ['no SMTP_URL', { SMTP_URL: undefined }, 'SMTP_URL'],
    ['a DATABASE_URL without sslmode', { DATABASE_URL: 'postgres://db.example.com/gh' }, 'DATABASE_URL'],
    ['a DATABASE_URL with ssl=true but no verifying sslmode', { DATABASE_URL: 'postgres://db.example.com/gh?ssl=true' }, 'DATABASE_URL'],
    ['a TCP host given as the host parameter, without sslmode', { DATABASE_URL: 'postgres:///gh?host=db.example.com' }, 'DATABASE_URL'],
    ...['disable', 'allow', 'prefer', 'require', 'no-verify'].map((mode): [string, Env, string] => [
      `sslmode=${mode}`, { DATABASE_URL: `postgres://db.example.com/gh?sslmode=${mode}` }, 'DATABASE_URL',
    ]),
  ];
  for (const [what, change, name] of breaks) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(namesOf({ ...productionEnv(), ...change }), [name]);
    });
  }

  it('accepts sslmode=verify-ca', () => {
    assert.doesNotThrow(() => loadConfig({ ...productionEnv(), DATABASE_URL: 'postgresql://db.example.com/gh?sslmode=verify-ca' }));
  });

  it('accepts a Unix-socket DATABASE_URL without sslmode, in each spelling pg understands', () => {
    for (const url of [
      'postgres:///gatehouse?host=/var/run/postgresql',
      `postgres://gatehouse:${secret()}@/gatehouse?host=/var/run/postgresql`,
      'postgresql://%2Fvar%2Frun%2Fpostgresql/gatehouse',
    ]) {
      const config = loadConfig({ ...productionEnv(), DATABASE_URL: url });
      assert.deepEqual(config.database, { engine: 'postgres', url, poolMax: 10, preparedStatements: true }, url);
    }
  });

  it('a repeated sslmode cannot downgrade the checked one (pg keeps the last)', () => {
    const env = { ...productionEnv(), DATABASE_URL: 'postgres://db.example.com/gh?sslmode=verify-full&sslmode=disable' };
    assert.deepEqual(refusal(env).problems, [{ name: 'DATABASE_URL', rule: 'must not repeat a query parameter' }]);
    assert.deepEqual(namesOf({ DATABASE_URL: 'postgres:///gh?host=/tmp&host=db.example.com' }), ['DATABASE_URL']);
  });

  it('a mistyped GATEHOUSE_ENV is checked against the production rules, not the development ones', () => {
    assert.deepEqual(namesOf({ GATEHOUSE_ENV: 'prod', CORS_ORIGINS: '*' }), ['CORS_ORIGINS', 'GATEHOUSE_ENV', 'GATEHOUSE_MASTER_KEY', 'PUBLIC_URL', 'SMTP_URL', 'TLS_CERT_FILE']);
  });
});

describe('transport security in production', () => {
  /** The names refused, none when it loads. */
  const problems = (env: Env): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.map((problem) => problem.name).sort();
      throw error;
    }
  };
  const refusedAs = (env: Env): string[] => problems({ ...productionEnv(), ...env });

  it('a valid production configuration serves HTTPS itself, or sits behind a named TLS-terminating proxy', () => {
    assert.deepEqual(refusedAs({}), []);
    assert.deepEqual(refusedAs({ TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined, TRUST_PROXY: '10.0.0.5' }), []);
  });

  it('refuses plain HTTP without a proxy, half a TLS configuration, and a relative path', () => {
    assert.deepEqual(refusedAs({ TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined }), ['TLS_CERT_FILE']);
    assert.deepEqual(refusedAs({ TLS_KEY_FILE: undefined }), ['TLS_KEY_FILE']);
    assert.deepEqual(refusedAs({ TLS_CERT_FILE: 'tls.crt' }), ['TLS_CERT_FILE']);
  });

  it('refuses Redis without TLS and any setting that turns certificate checks off', () => {
    assert.deepEqual(refusedAs({ REDIS_URL: `redis://:${secret()}@cache.example.com:6379` }), ['REDIS_URL']);
    assert.deepEqual(refusedAs({ REDIS_URL: `rediss://:${secret()}@cache.example.com:6380?tls.rejectUnauthorized=false` }), ['REDIS_URL']);
    // A cluster's seed URL is held to the same rules: its scheme and credentials reach every node.
    assert.deepEqual(refusedAs({ REDIS_URL: `redis://:${secret()}@node-1.cache.example.com:6379`, REDIS_CLUSTER: 'true' }), ['REDIS_URL']);
    assert.deepEqual(refusedAs({ REDIS_URL: `rediss://:${secret()}@node-1.cache.example.com:6380`, REDIS_CLUSTER: 'true' }), []);
  });

  it('refuses SMTP without TLS: smtps://, or smtp:// that requires STARTTLS, and never unverified', () => {
    assert.deepEqual(refusedAs({ SMTP_URL: `smtp://mailer:${secret()}@smtp.example.com:587` }), ['SMTP_URL']);
    assert.deepEqual(refusedAs({ SMTP_URL: `smtp://mailer:${secret()}@smtp.example.com:587?requireTLS=true` }), []);
    assert.deepEqual(refusedAs({ SMTP_URL: `smtps://mailer:${secret()}@smtp.example.com:465?tls.rejectUnauthorized=false` }), ['SMTP_URL']);
    assert.deepEqual(refusedAs({ SMTP_URL: `smtp://mailer:${secret()}@smtp.example.com:587?requireTLS=true&ignoreTLS=true` }), ['SMTP_URL']);
  });

  it('development allows plain Redis and SMTP on loopback', () => {
    assert.deepEqual(problems({ REDIS_URL: 'redis://127.0.0.1:6379', SMTP_URL: 'smtp://127.0.0.1:1025' }), []);
  });
});

describe('cross-origin access', () => {
  it('CORS * with credentials is refused in development too (any site could act as the user)', () => {
    assert.deepEqual(namesOf({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }), ['CORS_CREDENTIALS']);
  });

  it('a wildcard-subdomain origin is refused rather than silently matching nothing', () => {
    assert.deepEqual(namesOf({ CORS_ORIGINS: 'https://*.example.com' }), ['CORS_ORIGINS']);
  });
});

describe('secrets never appear in errors or descriptions', () => {
  it('refusal messages do not contain the key, passwords or token that were passed', () => {
    const passwords = [secret(), secret(), secret()];
    const token = secret();
    const error = refusal({
      GATEHOUSE_ENV: 'production',
      GATEHOUSE_MASTER_KEY: WEAK_KEY,
      DATABASE_URL: `postgres://gatehouse:${passwords[0] ?? ''}@db.example.com/gh?sslmode=require`,
      REDIS_URL: `http://:${passwords[1] ?? ''}@cache`,
      SMTP_URL: `mailto://mailer:${passwords[2] ?? ''}@mail`,
      METRICS_TOKEN: token,
      // A secret pasted into a plain variable by mistake.
      PORT: token,
    });
    assert.deepEqual(error.problems.map((problem) => problem.name).sort(), ['DATABASE_URL', 'GATEHOUSE_MASTER_KEY', 'METRICS_TOKEN', 'PORT', 'PUBLIC_URL', 'REDIS_URL', 'SMTP_URL', 'TLS_CERT_FILE']);
    const text = printed(error);
    for (const value of [WEAK_KEY, WEAK_KEY.slice(3), ...passwords, token]) assert.ok(!text.includes(value), 'a secret value was printed');
  });

  it('a secret read from a file is not echoed when it is refused', () => {
    const key = `k1:${randomBytes(16).toString('base64url')}`;
    const error = refusal({ GATEHOUSE_MASTER_KEY_FILE: '/run/secrets/key' }, { readFile: () => `${key}\n` });
    assert.deepEqual(error.problems.map((problem) => problem.name), ['GATEHOUSE_MASTER_KEY']);
    assert.ok(!printed(error).includes(key.slice(3)));
  });

  it('SMTP_FROM with CR/LF is refused (mail header injection)', () => {
    assert.deepEqual(namesOf({ SMTP_FROM: 'Gatehouse <a@example.com>\r\nBcc: victim@example.com' }), ['SMTP_FROM']);
  });

  it('describeConfig never contains the master key, the metrics token or URL passwords', () => {
    const env = productionEnv();
    const config = loadConfig({ ...env, DATABASE_URL: `${env['DATABASE_URL'] ?? ''}&password=${secret()}` });
    const shown = JSON.stringify(describeConfig(config));
    assert.ok(!shown.includes('base64'));
    for (const key of config.masterKeys ?? []) {
      assert.ok(!shown.includes(key.key.toString('base64url')));
      assert.ok(!shown.includes(key.key.toString('hex')));
    }
    for (const value of secretsOf(config)) assert.ok(!shown.includes(value), 'a secret was shown');
    assert.equal(describeConfig(config)['GATEHOUSE_MASTER_KEY'], 'set (2 keys)');
    assert.equal(describeConfig(config)['METRICS_TOKEN'], 'set');
  });

  it('printing the config by mistake (JSON, console.log) shows the masked description', () => {
    const config = loadConfig(productionEnv());
    const printedForms = [JSON.stringify(config), inspect(config, { depth: 10 }), JSON.stringify({ config })];
    for (const form of printedForms) {
      for (const key of config.masterKeys ?? []) assert.ok(!form.includes(key.key.toString('base64url')));
      for (const value of secretsOf(config)) assert.ok(!form.includes(value), 'a secret was printed');
    }
  });
});

function secretsOf(config: Config): string[] {
  const urls = [config.database.engine === 'postgres' ? config.database.url : null, config.redisURL, config.smtp.url];
  const passwords = urls.flatMap((url) => (url === null ? [] : [new URL(url).password, ...new URL(url).searchParams.getAll('password')]));
  return [...passwords.filter((password) => password !== ''), ...(config.metricsToken === null ? [] : [config.metricsToken])];
}

describe('development key file', () => {
  async function withDataDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
    const base = await mkdtemp(join(tmpdir(), 'gh-dev-key-'));
    try {
      const dataDir = join(base, 'data');
      await mkdir(dataDir, { mode: 0o700 });
      await fn(dataDir);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  }

  for (const mode of [0o640, 0o604, 0o660]) {
    it(`a key file with mode ${mode.toString(8)} (readable beyond the owner) is refused, without printing the key`, async () => {
      await withDataDir(async (dataDir) => {
        const text = formatMasterKeys([{ id: 'dev-1', key: randomBytes(32) }]);
        await writeFile(join(dataDir, 'master.key'), text, { mode: 0o600 });
        await chmod(join(dataDir, 'master.key'), mode);
        await assert.rejects(ensureDevelopmentMasterKey(dataDir, { warn: () => undefined }), (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.deepEqual(error.problems.map((problem) => problem.name), ['GATEHOUSE_MASTER_KEY']);
          assert.match(error.message, /accessible to group or others/);
          assert.ok(!printed(error).includes(text.slice(6)));
          return true;
        });
      });
    });
  }

  it('a key file replaced by a symbolic link is refused', async () => {
    await withDataDir(async (dataDir) => {
      const elsewhere = join(dataDir, '..', 'elsewhere.key');
      await writeFile(elsewhere, formatMasterKeys([{ id: 'planted', key: randomBytes(32) }]), { mode: 0o600 });
      await symlink(elsewhere, join(dataDir, 'master.key'));
      await assert.rejects(ensureDevelopmentMasterKey(dataDir, { warn: () => undefined }), /symbolic link/);
    });
  });

  it('a corrupted key file is refused without echoing its content', async () => {
    await withDataDir(async (dataDir) => {
      const content = `dev-1:${randomBytes(20).toString('base64url')}`;
      await writeFile(join(dataDir, 'master.key'), content, { mode: 0o600 });
      await assert.rejects(ensureDevelopmentMasterKey(dataDir, { warn: () => undefined }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(!printed(error).includes(content.slice(6)));
        return true;
      });
    });
  });

  it('processes starting at once agree on one key and only one of them generated it', async () => {
    await withDataDir(async (dataDir) => {
      const warnings: string[] = [];
      const keyrings = await Promise.all(
        Array.from({ length: 16 }, () => ensureDevelopmentMasterKey(dataDir, { warn: (message) => warnings.push(message) })),
      );
      for (const keyring of keyrings) assert.deepEqual(keyring, keyrings[0]);
      assert.equal(warnings.length, 16);
      assert.equal(warnings.filter((message) => message.includes('generated now')).length, 1);
    });
  });
});
