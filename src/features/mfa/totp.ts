// TOTP codes (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30-second steps, accepting
// the step before and after the current one for clock drift. The arithmetic is otpauth's;
// what is decided here is the parameters, the secret's size and source, and that a code
// is matched to the time step it belongs to, so the caller can refuse a second use of
// that step (repo.ts).
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** Steps accepted on each side of the current one. */
export const TOTP_WINDOW = 1;
// RFC 4226 §4 asks for at least 128 bits and recommends 160.
const SECRET_BYTES = 20;
const CODE = /^\d{6}$/;

export interface TotpSecret {
  /** Base32 (RFC 4648, no padding), as authenticator apps take it. */
  readonly base32: string;
}

export function createTotpSecret(): TotpSecret {
  return { base32: new Secret({ buffer: new Uint8Array(randomBytes(SECRET_BYTES)).buffer }).base32 };
}

function totpOf(secret: TotpSecret, label = 'account', issuer = 'Gatehouse'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret.base32) });
}

/** The `otpauth://totp/...` URI an authenticator app enrols from (a QR code of it, usually). */
export function totpURI(secret: TotpSecret, options: { readonly issuer: string; readonly account: string }): string {
  return totpOf(secret, options.account, options.issuer).toString();
}

/** The time step of `now` (RFC 6238 T). */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of one time step (tests, and the software authenticator in them). */
export function totpCodeAt(secret: TotpSecret, step: number): string {
  return totpOf(secret).generate({ timestamp: step * TOTP_PERIOD_SECONDS * 1000 });
}

/**
 * The time step `code` belongs to, within ±TOTP_WINDOW of `now`, or null. Anything but
 * six ASCII digits is null before any computation. The comparison is otpauth's, in
 * constant time.
 */
export function matchTotp(secret: TotpSecret, code: string, now: Date): number | null {
  if (!CODE.test(code)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: now.getTime(), window: TOTP_WINDOW });
  return delta === null ? null : totpStep(now) + delta;
}
