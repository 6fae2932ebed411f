// Settings of the authorization and monitoring features: audit retention, the first
// admin, security webhooks and the metrics listener.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hasControlCharacter, parseBoolean, parseInteger, accept, refuse, type Parsed } from './parse-values.ts';
import type { Reader } from './reader.ts';

export interface WebhookConfig {
  /** Receivers of signed security events; empty when webhooks are off. */
  readonly urls: readonly string[];
  /** The HMAC-SHA256 signing secret; set whenever `urls` is not empty. */
  readonly secret: string | null;
  /**
   * While rotating: the secret being replaced. Every delivery then carries a second `v1`
   * signature under it, so receivers can move to `secret` at their own pace.
   */
  readonly previousSecret: string | null;
  /** Whether event bodies carry the client's IP address (personal data: off unless the receiver needs it). */
  readonly includeIp: boolean;
}

export interface BootstrapAdminConfig {
  readonly email: string;
  /** The password is read from this file at start, never from the environment. */
  readonly passwordFile: string;
}

export interface AdministrationConfig {
  /** Audit records older than this many days may be pruned by `gatehouse audit prune`; null keeps them forever. */
  readonly auditRetentionDays: number | null;
  readonly bootstrapAdmin: BootstrapAdminConfig | null;
  readonly webhooks: WebhookConfig;
  /** When set, /metrics is served on this port on 127.0.0.1 only (no token needed there). */
  readonly metricsPort: number | null;
}

const MAX_WEBHOOKS = 10;

/** Comma-separated http(s) URLs without credentials; https required in production. */
export function parseWebhookURLs(raw: string, options: { readonly production: boolean }): Parsed<readonly string[]> {
  const parts = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length > MAX_WEBHOOKS) return refuse(`must list at most ${MAX_WEBHOOKS} URLs`);
  const urls: string[] = [];
  for (const part of parts) {
    if (part.length > 2048 || !URL.canParse(part)) return refuse('must be comma-separated absolute http(s) URLs');
    const url = new URL(part);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('must be comma-separated absolute http(s) URLs');
    if (url.username !== '' || url.password !== '') return refuse('must not contain credentials (the events are signed instead)');
    if (options.production && url.protocol !== 'https:') return refuse('must be https:// URLs in production');
    // One receiver per URL as normalised (`HTTPS://X/in` is `https://x/in`): a second
    // job for the same receiver and event would break the queue's dedupe key.
    if (!urls.includes(url.href)) urls.push(url.href);
  }
  return accept(urls);
}

function parseWebhookSecret(raw: string): Parsed<string> {
  return raw.length >= 32 && raw.length <= 512 && !hasControlCharacter(raw)
    ? accept(raw)
    : refuse('must be 32 to 512 characters, without control characters');
}

function sameSecret(a: string, b: string): boolean {
  // Digests first: equal lengths for timingSafeEqual, whatever the secrets' lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

// The rotation window's old secret: as strong as a current one (it signs every delivery
// until it is dropped), and only beside a current one that differs from it.
function readPreviousWebhookSecret(reader: Reader, current: string | null): string | null {
  const name = 'SECURITY_WEBHOOK_SECRET_PREVIOUS';
  const previous = reader.take(name, reader.secret(name), parseWebhookSecret, null);
  if (previous === null) return null;
  if (current === null) {
    if (!reader.hasProblem('SECURITY_WEBHOOK_SECRET')) reader.report(name, 'must be set only with SECURITY_WEBHOOK_SECRET (the new secret, which signs first)');
    return null;
  }
  if (sameSecret(previous, current)) {
    reader.report(name, 'must differ from SECURITY_WEBHOOK_SECRET (it is the secret being replaced)');
    return null;
  }
  return previous;
}

function parseEmailSetting(raw: string): Parsed<string> {
  const email = raw.trim();
  return email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email) ? accept(email) : refuse('must be an email address');
}

function readBootstrapAdmin(reader: Reader): BootstrapAdminConfig | null {
  const email = reader.take('BOOTSTRAP_ADMIN_EMAIL', reader.plain('BOOTSTRAP_ADMIN_EMAIL'), parseEmailSetting, null);
  const passwordFile = reader.plain('BOOTSTRAP_ADMIN_PASSWORD_FILE');
  if (email === null && passwordFile === undefined) return null;
  if (email !== null && passwordFile === undefined) {
    reader.report('BOOTSTRAP_ADMIN_PASSWORD_FILE', 'must be set with BOOTSTRAP_ADMIN_EMAIL (the password is never taken from the environment)');
    return null;
  }
  if (email === null) {
    if (!reader.hasProblem('BOOTSTRAP_ADMIN_EMAIL')) reader.report('BOOTSTRAP_ADMIN_EMAIL', 'must be set with BOOTSTRAP_ADMIN_PASSWORD_FILE');
    return null;
  }
  return { email, passwordFile: passwordFile ?? '' };
}

function readWebhooks(reader: Reader): WebhookConfig {
  const urls = reader.take(
    'SECURITY_WEBHOOK_URLS',
    reader.plain('SECURITY_WEBHOOK_URLS'),
    (raw) => parseWebhookURLs(raw, { production: reader.production }),
    [],
  );
  const secret = reader.take('SECURITY_WEBHOOK_SECRET', reader.secret('SECURITY_WEBHOOK_SECRET'), parseWebhookSecret, null);
  if (urls.length > 0 && secret === null && !reader.hasProblem('SECURITY_WEBHOOK_SECRET')) {
    reader.report('SECURITY_WEBHOOK_SECRET', 'must be set when SECURITY_WEBHOOK_URLS is set (receivers verify the signature with it)');
  }
  const previousSecret = readPreviousWebhookSecret(reader, secret);
  const includeIp = reader.take('WEBHOOK_INCLUDE_IP', reader.plain('WEBHOOK_INCLUDE_IP'), parseBoolean, false);
  return { urls, secret, previousSecret, includeIp };
}

export function readAdministration(reader: Reader): AdministrationConfig {
  return {
    auditRetentionDays: reader.take(
      'AUDIT_RETENTION_DAYS',
      reader.plain('AUDIT_RETENTION_DAYS'),
      (raw) => parseInteger(raw, { min: 1, max: 36_500 }),
      null,
    ),
    bootstrapAdmin: readBootstrapAdmin(reader),
    webhooks: readWebhooks(reader),
    metricsPort: reader.take('METRICS_PORT', reader.plain('METRICS_PORT'), (raw) => parseInteger(raw, { min: 1, max: 65535 }), null),
  };
}
