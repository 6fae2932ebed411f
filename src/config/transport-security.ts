// Transport security of every connection Gatehouse makes or accepts (docs/operations.md
// "TLS"): its own HTTPS listener (TLS_CERT_FILE / TLS_KEY_FILE), and in production the
// refusal of plaintext where a secret or personal data would travel: serving plain HTTP
// unless TRUST_PROXY names the proxy that terminates TLS, Redis without TLS (rediss://),
// SMTP without TLS (smtps://, or smtp:// with requireTLS=true), and any setting that turns
// certificate verification off. PostgreSQL's sslmode is checked in database-url.ts.
import { isAbsolute } from 'node:path';
import { accept, hasControlCharacter, refuse, type Parsed } from './parse-values.ts';
import type { Reader } from './reader.ts';

export interface TLSConfig {
  /** PEM certificate chain, re-read on SIGHUP. */
  readonly certFile: string;
  /** PEM private key, re-read on SIGHUP. */
  readonly keyFile: string;
}

function parseFilePath(raw: string): Parsed<string> {
  return isAbsolute(raw) && raw.length <= 4096 && !hasControlCharacter(raw) ? accept(raw) : refuse('must be an absolute file path');
}

export function readTLS(reader: Reader): TLSConfig | null {
  const certFile = reader.take('TLS_CERT_FILE', reader.plain('TLS_CERT_FILE'), parseFilePath, null);
  const keyFile = reader.take('TLS_KEY_FILE', reader.plain('TLS_KEY_FILE'), parseFilePath, null);
  if (certFile !== null && keyFile === null && !reader.hasProblem('TLS_KEY_FILE')) reader.report('TLS_KEY_FILE', 'must be set with TLS_CERT_FILE');
  if (keyFile !== null && certFile === null && !reader.hasProblem('TLS_CERT_FILE')) reader.report('TLS_CERT_FILE', 'must be set with TLS_KEY_FILE');
  return certFile === null || keyFile === null ? null : { certFile, keyFile };
}

/** In production: no plaintext listener without a TLS-terminating proxy. */
export function checkListener(reader: Reader, settings: { readonly tls: TLSConfig | null; readonly trustProxy: unknown }): void {
  if (!reader.production || settings.tls !== null || settings.trustProxy !== false) return;
  if (reader.hasProblem('TLS_CERT_FILE') || reader.hasProblem('TLS_KEY_FILE') || reader.hasProblem('TRUST_PROXY')) return;
  reader.report('TLS_CERT_FILE', 'set TLS_CERT_FILE and TLS_KEY_FILE, or TRUST_PROXY to the proxy that terminates TLS: production never serves plain HTTP');
}

/** Query parameters that would turn a client's certificate verification or TLS off. */
const UNSAFE_PARAMETERS = /^(tls\.rejectunauthorized|rejectunauthorized|ignoretls|tls\.checkserveridentity|secure)$/i;

function unsafeParameter(url: URL): string | null {
  for (const name of url.searchParams.keys()) if (UNSAFE_PARAMETERS.test(name)) return name;
  return null;
}

/** In production: Redis only over TLS with a verified certificate. */
export function checkRedisURL(reader: Reader, raw: string | null): void {
  if (!reader.production || raw === null || reader.hasProblem('REDIS_URL')) return;
  const url = new URL(raw);
  if (url.protocol !== 'rediss:') reader.report('REDIS_URL', 'must be a rediss:// URL in production (TLS with a verified certificate)');
  else if (unsafeParameter(url) !== null) reader.report('REDIS_URL', `must not set ${unsafeParameter(url) ?? ''} in production`);
}

/** In production: SMTP only over TLS: smtps://, or smtp:// with requireTLS=true (STARTTLS or nothing). */
export function checkSMTPURL(reader: Reader, raw: string | null): void {
  if (!reader.production || raw === null || reader.hasProblem('SMTP_URL')) return;
  const url = new URL(raw);
  const unsafe = unsafeParameter(url);
  if (unsafe !== null) reader.report('SMTP_URL', `must not set ${unsafe} in production`);
  else if (url.protocol === 'smtp:' && url.searchParams.get('requireTLS') !== 'true') {
    reader.report('SMTP_URL', 'must be smtps://, or smtp:// with ?requireTLS=true (STARTTLS required), in production');
  }
}
