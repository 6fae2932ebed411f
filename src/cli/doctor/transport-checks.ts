// Transport security of every connection (docs/operations.md "TLS"). The rules are the
// ones config.ts applies in production (transport-security.ts, database-url.ts), asked
// again here so that a development configuration learns what production would refuse,
// plus what start-up cannot see: a certificate about to expire, a TRUST_PROXY that
// believes everyone, sslmode=verify-ca, and whether the database connection really is
// encrypted (pg_stat_ssl).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Config } from '../../config/config.ts';
import { parseDatabaseURL, productionDatabaseRule } from '../../config/database-url.ts';
import { maskURL } from '../../config/mask.ts';
import { createReader, type Reader } from '../../config/reader.ts';
import { checkRedisURL, checkSMTPURL } from '../../config/transport-security.ts';
import { pass, skip, unsafe, warn, type Check, type Finding } from './types.ts';

const DAY_MS = 86_400_000;
/** A certificate closer than this to its end is a warning: renewal has failed or was forgotten. */
export const CERTIFICATE_WARN_DAYS = 14;

/** The problems config.ts's production rule `check` reports for a value. */
function productionRule(check: (reader: Reader) => void): string | null {
  const reader = createReader({}, { readFile: () => '', production: true });
  check(reader);
  return reader.problems[0]?.rule ?? null;
}

export interface CertificateFacts {
  readonly validTo: Date;
  readonly subject: string;
}

export function judgeListener(config: Pick<Config, 'environment' | 'tls' | 'trustProxy'>, certificate: CertificateFacts | null, now: Date): Finding {
  if (config.tls !== null && certificate !== null) {
    const days = Math.floor((certificate.validTo.getTime() - now.getTime()) / DAY_MS);
    const renew = 'renew the certificate in TLS_CERT_FILE (then send SIGHUP: it is reloaded without a restart)';
    if (days < 0) return unsafe(config, `HTTPS certificate (${certificate.subject}) expired on ${certificate.validTo.toISOString()}`, renew);
    if (days < CERTIFICATE_WARN_DAYS) return warn(`HTTPS certificate (${certificate.subject}) expires in ${days} days`, renew);
    return pass(`HTTPS listener; certificate (${certificate.subject}) valid for ${days} more days`);
  }
  if (config.trustProxy === true) {
    // Every client's X-Forwarded-For is believed: anyone picks the address rate limits and the audit trail see.
    return warn('TRUST_PROXY=true believes X-Forwarded-For from any client', 'set TRUST_PROXY to the address of the proxy that terminates TLS (or a hop count)');
  }
  if (config.trustProxy !== false) return pass(`plain HTTP behind the TLS-terminating proxy TRUST_PROXY=${String(config.trustProxy)}`);
  return unsafe(config, 'plain HTTP with no TLS-terminating proxy', 'set TLS_CERT_FILE and TLS_KEY_FILE, or TRUST_PROXY to the proxy that terminates TLS');
}

async function readCertificate(path: string): Promise<CertificateFacts> {
  const certificate = new X509Certificate(await readFile(path));
  return { validTo: new Date(certificate.validTo), subject: certificate.subject.replaceAll('\n', ', ') };
}

export const httpsCheck: Check = {
  name: 'https',
  dependsOn: ['configuration'],
  async run(context) {
    const config = context.config();
    return judgeListener(config, config.tls === null ? null : await readCertificate(config.tls.certFile), context.now());
  },
};

export interface NegotiatedTLS {
  readonly ssl: boolean;
  readonly version: string | null;
}

export function judgeDatabaseTLS(config: Pick<Config, 'environment' | 'database'>, negotiated: NegotiatedTLS | null): Finding {
  if (config.database.engine === 'pglite') return pass('embedded PGlite: the database never crosses a network');
  const parsed = parseDatabaseURL(config.database.url);
  if (!parsed.ok) return unsafe(config, `DATABASE_URL ${parsed.rule}`, 'fix DATABASE_URL');
  // A Unix socket never leaves the machine. Loopback TCP is held to the same rule as any
  // host (as config.ts does): 127.0.0.1 may be a tunnel or a sidecar whose far end is elsewhere.
  if (parsed.value.socket) return pass('through a Unix socket (never leaves the machine)');
  const rule = productionDatabaseRule(parsed.value);
  const fix = 'add sslmode=verify-full to DATABASE_URL (with sslrootcert= naming the CA if it is not a public one)';
  if (rule !== null) return unsafe(config, `DATABASE_URL ${rule}`, fix);
  if (negotiated !== null && !negotiated.ssl) return unsafe(config, 'the database connection is not encrypted (pg_stat_ssl)', fix);
  const version = negotiated?.version ?? 'TLS';
  if (parsed.value.sslmode === 'verify-ca') {
    return warn(`${version}, but sslmode=verify-ca accepts any certificate the CA signed, for any host name`, 'use sslmode=verify-full');
  }
  return pass(`${version} with sslmode=verify-full`);
}

export const databaseTLSCheck: Check = {
  name: 'database-tls',
  dependsOn: ['database'],
  async run(context) {
    const config = context.config();
    if (config.database.engine === 'pglite') return judgeDatabaseTLS(config, null);
    const { db } = await context.database();
    const rows = await sql<NegotiatedTLS>`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(db);
    return judgeDatabaseTLS(config, rows.rows[0] ?? null);
  },
};

export function judgeRedisTLS(config: Pick<Config, 'environment' | 'redisURL'>): Finding {
  if (config.redisURL === null) return skip('REDIS_URL unset');
  const url = config.redisURL;
  const rule = productionRule((reader) => { checkRedisURL(reader, url); });
  if (rule !== null) return unsafe(config, `REDIS_URL ${maskURL(url)} ${rule}`, 'use a rediss:// URL (TLS with a verified certificate)');
  return pass('rediss:// (TLS, certificate verified)');
}

export const redisTLSCheck: Check = { name: 'redis-tls', dependsOn: ['configuration'], run: (context) => judgeRedisTLS(context.config()) };

export function judgeSMTPTLS(config: Pick<Config, 'environment' | 'smtp'>): Finding {
  const url = config.smtp.url;
  if (url === null) return unsafe(config, 'SMTP_URL unset: mail is written to DATA_DIR/outbox, not sent', 'set SMTP_URL to an smtps:// URL (or smtp:// with ?requireTLS=true)');
  const rule = productionRule((reader) => { checkSMTPURL(reader, url); });
  if (rule !== null) return unsafe(config, `SMTP_URL ${maskURL(url)} ${rule}`, 'use smtps://, or smtp:// with ?requireTLS=true');
  return pass(url.startsWith('smtps:') ? 'smtps:// (TLS from the start)' : 'smtp:// with STARTTLS required');
}

export const smtpTLSCheck: Check = { name: 'smtp-tls', dependsOn: ['configuration'], run: (context) => judgeSMTPTLS(context.config()) };
