// Bounds what a caller may put in an audit record, before the chain lock is taken.
// Keys that name a secret are refused outright: the trail is kept forever and read by
// operators, so a password or token must never reach it, even by accident. Values are
// often attacker-supplied (a username tried at login), so they are bounded and made
// storable instead of refused: a refusal there would let an attacker keep a failed
// attempt out of the trail by sending a long or malformed name.
import { AuditInputError } from './errors.ts';
import { canonicalJSON } from './canonical.ts';

export const MAX_DETAILS_BYTES = 4096;
export const MAX_DETAILS_DEPTH = 8;
export const MAX_DETAIL_STRING = 512;
const MAX_KEY_LENGTH = 64;

// Matched inside the key with separators removed: `accessToken`, `client_secret`, `new-password`.
const SECRET_FRAGMENTS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'credential', 'apikey', 'privatekey', 'cookie', 'authorization'];
// Matched as whole words only, since they occur inside harmless words (`footprint`, `spinner`).
const SECRET_WORDS = new Set(['code', 'codes', 'otp', 'totp', 'hotp', 'pin', 'pwd', 'pass', 'jwt']);

export function isSecretKey(key: string): boolean {
  const squashed = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (SECRET_FRAGMENTS.some((fragment) => squashed.includes(fragment))) return true;
  const words = key.split(/[^a-zA-Z0-9]+|(?<=[a-z0-9])(?=[A-Z])/).map((word) => word.toLowerCase());
  return words.some((word) => SECRET_WORDS.has(word));
}

/** Storable text: no NUL (PostgreSQL text refuses it), no lone surrogate (it would not round-trip), bounded. */
export function cleanText(value: string, max: number): string {
  return value.replaceAll('\u0000', '\uFFFD').slice(0, max).toWellFormed();
}

function checkKey(key: string, path: string): void {
  if (key === '' || key.length > MAX_KEY_LENGTH || key === '__proto__' || !key.isWellFormed() || key.includes('\u0000')) {
    throw new AuditInputError('invalid_field', `details key at ${path} is empty, too long or not storable`);
  }
  if (isSecretKey(key)) {
    throw new AuditInputError('forbidden_key', `details key ${path}/${key} names a secret; audit records never hold secrets`);
  }
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function cleanValue(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return cleanText(value, MAX_DETAIL_STRING);
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new AuditInputError('details_not_json', `details value at ${path} is not a finite number`);
  }
  if (depth >= MAX_DETAILS_DEPTH) throw new AuditInputError('details_too_deep', `details nest deeper than ${MAX_DETAILS_DEPTH} at ${path}`);
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => {
      if (item === undefined) throw new AuditInputError('details_not_json', `details value at ${path}/${index} is undefined`);
      return cleanValue(item, `${path}/${index}`, depth + 1);
    });
  }
  if (isPlainObject(value)) return cleanObject(value, path, depth + 1);
  throw new AuditInputError('details_not_json', `details value at ${path} is not plain JSON (${typeof value})`);
}

function cleanObject(value: object, path: string, depth: number): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    checkKey(key, path);
    // An absent optional field, as JSON.stringify would treat it.
    if (item !== undefined) entries.push([key, cleanValue(item, `${path}/${key}`, depth)]);
  }
  // fromEntries defines own properties, so a key such as `constructor` stays plain data.
  return Object.fromEntries(entries);
}

export interface PreparedDetails {
  readonly value: Record<string, unknown>;
  /** The canonical JSON, stored in the jsonb column. */
  readonly text: string;
}

/** A bounded, secret-free, plain-JSON copy of `details`; throws AuditInputError otherwise. */
export function prepareDetails(details: Readonly<Record<string, unknown>> | undefined): PreparedDetails {
  if (details !== undefined && !isPlainObject(details)) throw new AuditInputError('details_not_json', 'details is not a plain object');
  const value = details === undefined ? {} : cleanObject(details, '', 0);
  const text = canonicalJSON(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DETAILS_BYTES) {
    throw new AuditInputError('details_too_large', `details take ${bytes} bytes, more than ${MAX_DETAILS_BYTES}`);
  }
  return { value, text };
}
