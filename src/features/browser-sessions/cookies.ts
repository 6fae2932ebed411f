// The browser session's cookies. No token reaches the page's JavaScript:
// - `__Host-gh_session`: the access token sealed with AES-256-GCM under a server key
//   (opaque: a stolen cookie jar shows no claims; the JWT inside is verified as a bearer
//   one would be), for the access token's lifetime;
// - `__Host-gh_refresh`: the refresh token (random, opaque), rotated with reuse detection
//   exactly as a bearer client's, for the session's idle lifetime;
// - `__Host-gh_device`: the device token (auth/device-tokens.ts), 180 days;
// - `__Host-gh_csrf`: the CSRF token, readable by the page (signed double submit, OWASP):
//   `<nonce>.<HMAC(key, session id . nonce)>`, bound to the session, so a value planted
//   by a sibling subdomain or taken from another session is worthless.
// All are `__Host-`: Secure, Path=/, no Domain, SameSite=Strict.
import { createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeBase64url, IV_BYTES, open, seal } from '../../core/crypto/aead.ts';
import { hostCookie } from '../../core/http/cookies.ts';

export const SESSION_COOKIE = '__Host-gh_session';
export const REFRESH_COOKIE = '__Host-gh_refresh';
export const DEVICE_COOKIE = '__Host-gh_device';
export const CSRF_COOKIE = '__Host-gh_csrf';
export const BROWSER_SESSION_KEY_PURPOSE = 'browser-session';
const DEVICE_COOKIE_SECONDS = 180 * 86_400;
const ACCESS_AAD = Buffer.from('gatehouse session cookie v1');
const CSRF = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface SessionCookies {
  /** The Set-Cookie values of a signed-in browser. */
  signedIn(tokens: { accessToken: string; refreshToken: string; sessionId: string; deviceToken?: string }): string[];
  /** Set-Cookie values that delete the session's cookies (the device cookie stays). */
  cleared(): string[];
  /** The access token inside a session cookie's value, or null. */
  openAccess(value: string): string | null;
  /** Is `value` this session's CSRF token? */
  verifyCSRF(value: string, sessionId: string): boolean;
}

export function createSessionCookies(key: Buffer, lifetimes: { accessSeconds: number; refreshSeconds: number }): SessionCookies {
  if (key.length < 32) throw new TypeError('a browser-session key needs at least 32 bytes');
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
  const sealKey = derive('gatehouse session cookie seal v1');
  const csrfKey: KeyObject = createSecretKey(derive('gatehouse csrf v1'));
  const csrfMAC = (sessionId: string, nonce: string): Buffer => createHmac('sha256', csrfKey).update(`${sessionId}.${nonce}`, 'utf8').digest();
  const csrfFor = (sessionId: string): string => {
    const nonce = randomBytes(16).toString('base64url');
    return `${nonce}.${csrfMAC(sessionId, nonce).toString('base64url')}`;
  };
  return {
    signedIn(tokens) {
      const sealed = seal(sealKey, Buffer.from(tokens.accessToken, 'utf8'), ACCESS_AAD);
      const cookies = [
        hostCookie(SESSION_COOKIE, Buffer.concat([sealed.iv, sealed.sealed]).toString('base64url'), { maxAge: lifetimes.accessSeconds }),
        hostCookie(REFRESH_COOKIE, tokens.refreshToken, { maxAge: lifetimes.refreshSeconds }),
        hostCookie(CSRF_COOKIE, csrfFor(tokens.sessionId), { maxAge: lifetimes.refreshSeconds, script: true }),
      ];
      if (tokens.deviceToken !== undefined) cookies.push(hostCookie(DEVICE_COOKIE, tokens.deviceToken, { maxAge: DEVICE_COOKIE_SECONDS }));
      return cookies;
    },
    cleared() {
      return [SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE].map((name) => hostCookie(name, '', { maxAge: 0 }));
    },
    openAccess(value) {
      const bytes = decodeBase64url(value);
      if (bytes === null || bytes.length <= IV_BYTES) return null;
      try {
        return open(sealKey, bytes.subarray(0, IV_BYTES), bytes.subarray(IV_BYTES), ACCESS_AAD).toString('utf8');
      } catch {
        return null;
      }
    },
    verifyCSRF(value, sessionId) {
      const match = CSRF.exec(value);
      if (match === null) return false;
      const given = Buffer.from(match[2] ?? '', 'base64url');
      const expected = csrfMAC(sessionId, match[1] ?? '');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
