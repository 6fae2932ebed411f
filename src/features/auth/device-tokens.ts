// Device tokens: the OWASP "slow down online guessing" device cookie. After a successful
// login the client gets a token naming a random device id, bound by an HMAC to the
// account (its email blind index) and to when it was issued. A later login for that
// account that presents it is counted against that device's own lockout counter instead
// of the account's anonymous one, so a stranger flooding an address with wrong passwords
// locks the anonymous counter, not the owner on a device they used before.
//
// The token is a key to a counter, not a credential: it proves nothing by itself and
// never skips a password or second factor. Bound to one account, a token taken from one
// account gives nothing against another (its MAC does not verify, and the attempt is
// counted as anonymous). The server stores nothing: the key (a system key, wrapped by
// the master keyring) is the whole state.
import { createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

export const DEVICE_TOKEN_KEY_PURPOSE = 'device-token';
const INFO = 'gatehouse device token v1';
const PREFIX = 'ghd_';
// ghd_<device id: 16 bytes base64url>.<issued at: unix seconds>.<HMAC-SHA-256 base64url>
const PATTERN = /^ghd_([A-Za-z0-9_-]{22})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;
/** Older tokens stop counting as a known device (OWASP suggests months, not forever). */
export const DEVICE_TOKEN_MAX_AGE_SECONDS = 180 * 86_400;
const MIN_KEY_BYTES = 32;

export interface DeviceTokens {
  /** A token for `account` (an email blind index): for `deviceId` again, or a new device. */
  issue(account: string, now: Date, deviceId?: string): string;
  /** The device id if `token` is ours, for `account`, and not too old; otherwise null. */
  verify(token: string | undefined, account: string, now: Date): string | null;
}

export function createDeviceTokens(key: Buffer): DeviceTokens {
  if (key.length < MIN_KEY_BYTES) throw new TypeError(`a device-token key needs at least ${MIN_KEY_BYTES} bytes`);
  const subkey: KeyObject = createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), INFO, 32)));
  // Each part is of fixed alphabet and the separators cannot occur in them, so the MAC
  // input is unambiguous.
  const mac = (account: string, deviceId: string, issuedAt: string): Buffer =>
    createHmac('sha256', subkey).update(`${account}|${deviceId}|${issuedAt}`, 'utf8').digest();
  return {
    issue(account, now, deviceId = randomBytes(16).toString('base64url')) {
      const issuedAt = String(Math.floor(now.getTime() / 1000));
      return `${PREFIX}${deviceId}.${issuedAt}.${mac(account, deviceId, issuedAt).toString('base64url')}`;
    },
    verify(token, account, now) {
      const match = typeof token === 'string' ? PATTERN.exec(token) : null;
      if (match === null) return null;
      const [, deviceId = '', issuedAt = '', presented = ''] = match;
      const age = now.getTime() / 1000 - Number(issuedAt);
      if (age < -60 || age > DEVICE_TOKEN_MAX_AGE_SECONDS) return null;
      const expected = mac(account, deviceId, issuedAt);
      const given = Buffer.from(presented, 'base64url');
      return given.length === expected.length && timingSafeEqual(given, expected) ? deviceId : null;
    },
  };
}

/**
 * The lockout counter a password attempt draws on: the account's own (anonymous
 * attempts) or, with a valid device token, the account's on that device.
 */
export function passwordCounter(account: string, deviceId: string | null): string {
  return deviceId === null ? account : `${account}/device/${deviceId}`;
}

/** The same for second-factor attempts, which have a lockout of their own. */
export function secondFactorCounter(userId: string, deviceId: string | null): string {
  return deviceId === null ? `mfa/${userId}` : `mfa/${userId}/device/${deviceId}`;
}

/**
 * The counters of a signed-in user proving their password or second factor again
 * (re-authentication, password change): the session's own. The caller already holds a
 * live session, so a stranger's flood against the account's anonymous counters cannot
 * lock the owner out of step-up, and a thief with a stolen access token gets one
 * counter of the usual size.
 */
export function sessionCounters(account: { readonly emailIndex: string; readonly userId: string }, sessionId: string): { password: string; secondFactor: string } {
  return { password: `${account.emailIndex}/session/${sessionId}`, secondFactor: `mfa/${account.userId}/session/${sessionId}` };
}
