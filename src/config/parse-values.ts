// Pure parsers for single values. Each returns the value or the rule it broke; the rule
// never quotes the input, which may be a secret pasted into the wrong variable.
import { isIP } from 'node:net';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rule: string };

export function accept<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function refuse<T>(rule: string): Parsed<T> {
  return { ok: false, rule };
}

// Digits only, no sign, exponent, fraction, hex or leading zero: `Number("1e3")` and
// `parseInt("12abc")` would both quietly accept what the operator did not mean.
const INTEGER_PATTERN = /^(0|[1-9][0-9]{0,14})$/;

export function parseInteger(raw: string, range: { readonly min: number; readonly max: number }): Parsed<number> {
  const rule = `must be a whole number from ${range.min} to ${range.max}`;
  if (!INTEGER_PATTERN.test(raw)) return refuse(rule);
  const value = Number(raw);
  return value >= range.min && value <= range.max ? accept(value) : refuse(rule);
}

const DURATION_PATTERN = /^(0|[1-9][0-9]{0,9})(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `1800`, `30m`, `12h` or `7d`, in seconds, within the range (given in seconds). */
export function parseDuration(raw: string, range: { readonly min: number; readonly max: number }): Parsed<number> {
  const rule = `must be a duration like 900, 15m, 12h or 7d, from ${range.min} to ${range.max} seconds`;
  const match = DURATION_PATTERN.exec(raw);
  if (match === null) return refuse(rule);
  const unit = (match[2] ?? 's') as keyof typeof UNIT_SECONDS;
  const value = Number(match[1]) * UNIT_SECONDS[unit];
  return value >= range.min && value <= range.max ? accept(value) : refuse(rule);
}

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** A comma-separated list of role names (spaces around commas ignored), or `none`. */
export function parseRoleNames(raw: string): Parsed<readonly string[]> {
  if (raw.trim() === 'none') return accept([]);
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0 || names.length > 32 || !names.every((name) => ROLE_NAME.test(name))) return refuse('must be none or a comma-separated list of at most 32 role names');
  return accept([...new Set(names)]);
}

export function parseBoolean(raw: string): Parsed<boolean> {
  if (raw === 'true') return accept(true);
  if (raw === 'false') return accept(false);
  return refuse('must be true or false');
}

export function parseChoice<T extends string>(raw: string, choices: readonly T[]): Parsed<T> {
  const choice = choices.find((candidate) => candidate === raw);
  return choice === undefined ? refuse(`must be one of ${choices.join(', ')}`) : accept(choice);
}

const LABEL_PATTERN = /^[A-Za-z0-9-]{1,63}$/;

function isHostname(raw: string): boolean {
  const isLabel = (label: string): boolean => LABEL_PATTERN.test(label) && !label.startsWith('-') && !label.endsWith('-');
  return raw.length <= 253 && raw.split('.').every(isLabel);
}

export function parseHost(raw: string): Parsed<string> {
  return isIP(raw) !== 0 || isHostname(raw) ? accept(raw) : refuse('must be an IP address or a host name');
}

export function hasControlCharacter(raw: string): boolean {
  for (const char of raw) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

// A CR or LF here would let the value inject mail headers.
export function parseMailbox(raw: string): Parsed<string> {
  if (hasControlCharacter(raw)) return refuse('must not contain control characters (CR, LF, ...)');
  if (!/@[^@\s>]+>?$/.test(raw) || raw.length > 320) return refuse('must be an address like "Name <user@example.com>" or user@example.com');
  return accept(raw);
}

export function parseDirectory(raw: string): Parsed<string> {
  return raw.includes('\0') ? refuse('must be a directory path') : accept(raw);
}

export function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return 'error';
}
