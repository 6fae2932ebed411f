// The `Gatehouse-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
// The timestamp is inside the MAC so a captured delivery cannot be replayed later than
// the receiver's tolerance; the body is the exact bytes sent, so any change to it fails.
// Receivers should also drop repeated `Gatehouse-Event-Id`s: a retry is the same event.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'gatehouse-signature';
export const EVENT_ID_HEADER = 'gatehouse-event-id';

const SCHEME = 'v1';
// A real header is about 80 characters; anything far longer is not worth parsing.
const MAX_HEADER_LENGTH = 1024;
const HEX_DIGEST = /^[0-9a-f]{64}$/;
const UNIX_SECONDS = /^[0-9]{1,12}$/;

function digest(secret: string, timestamp: number, body: string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest();
}

export interface SignOptions {
  /**
   * While the secret rotates: the old one. A second `v1`, under it, follows the one
   * under `secret`, so a receiver holding either verifies (Stripe does the same).
   */
  readonly previousSecret?: string | null;
}

/** The header value for `body` sent at `now`. */
export function signWebhook(secret: string, body: string, now: Date, options: SignOptions = {}): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  const secrets = options.previousSecret == null ? [secret] : [secret, options.previousSecret];
  return [`t=${timestamp}`, ...secrets.map((key) => `${SCHEME}=${digest(key, timestamp, body).toString('hex')}`)].join(',');
}

interface ParsedSignature {
  readonly timestamp: number;
  readonly signatures: readonly Buffer[];
}

// Unknown schemes are ignored, so a later scheme can be added beside v1 without breaking
// receivers; several v1 values are allowed (a sender may sign with two secrets while
// rotating), and any one of them may match.
function parseSignature(header: string): ParsedSignature | null {
  if (header.length > MAX_HEADER_LENGTH) return null;
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) return null;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !UNIX_SECONDS.test(value)) return null;
      timestamp = Number(value);
    } else if (key === SCHEME && HEX_DIGEST.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

export interface VerifyOptions {
  /** How far the signed time may be from `now`, either way (300 is usual). */
  readonly toleranceSeconds: number;
  readonly now: Date;
}

/**
 * For receivers (and tests): true only when `header` carries a v1 signature of `body`
 * under `secret` made within the tolerance. Anything malformed is simply false.
 */
export function verifyWebhookSignature(secret: string, header: string | null | undefined, body: string, options: VerifyOptions): boolean {
  if (typeof header !== 'string') return false;
  const parsed = parseSignature(header);
  if (parsed === null) return false;
  const age = Math.floor(options.now.getTime() / 1000) - parsed.timestamp;
  if (!(Math.abs(age) <= options.toleranceSeconds)) return false;
  const expected = digest(secret, parsed.timestamp, body);
  // Every candidate is compared, so the time taken does not tell which one matched.
  let matched = false;
  for (const candidate of parsed.signatures) {
    if (timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}
