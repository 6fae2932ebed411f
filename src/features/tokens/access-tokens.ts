// Short-lived EdDSA access tokens (RFC 9068 `at+jwt`). Verification is a fixed list of
// explicit checks, each stated at the call site: the algorithm allowlist, the type, the
// issuer, the audience, the required claims, the lifetime. Any failure is `null`, with
// no reason given: the reason would only help someone probing.
import { jwtVerify, type CompactJWSHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { uuidv7 } from '../../core/crypto/ids.ts';
import { isAMRList, isRoleList, toAccessClaims, type AccessClaims } from './access-claims.ts';
import { assertAccessTokenTTL, CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_LENGTH } from './limits.ts';
import { signEdDSAJWT } from './sign-jws.ts';
import type { SigningKeySource } from './signing-key-source.ts';
import { createVerifiedTokenCache, type VerifiedTokenCache } from './verified-token-cache.ts';

export type { AccessClaims } from './access-claims.ts';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ALGORITHMS = ['EdDSA'];
/** How many verified tokens an instance remembers by default. */
export const DEFAULT_VERIFIED_TOKEN_ENTRIES = 10_000;

export interface AccessTokenDeps {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly clock: Clock;
  readonly keys: SigningKeySource;
  /** Defaults to a 10,000-entry cache; pass one to share or size it. */
  readonly cache?: VerifiedTokenCache<AccessClaims>;
}

export interface AccessTokenSubject {
  readonly sub: string;
  readonly sid: string;
  readonly roles: readonly string[];
  /** RFC 8176 method references of the session (`pwd`, `otp`, `hwk`, `swk`, `mfa`). */
  readonly amr: readonly string[];
  /** When the user last authenticated in this session. */
  readonly authTime: Date;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Seconds, for the OAuth `expires_in` field. */
  readonly expiresIn: number;
  readonly jti: string;
}

export interface AccessTokens {
  issue(subject: AccessTokenSubject): Promise<IssuedAccessToken>;
  /** The token's claims, or null if it is not a valid, current access token of ours. */
  verify(token: string): Promise<AccessClaims | null>;
}

class KeyNotFound extends Error {}

function assertSubject({ sub, sid, roles, amr, authTime }: AccessTokenSubject): void {
  if (typeof sub !== 'string' || sub === '' || typeof sid !== 'string' || sid === '') {
    throw new TypeError('an access token needs a subject and a session id');
  }
  if (!isRoleList(roles)) throw new TypeError('roles must be a short list of non-empty strings');
  if (!isAMRList(amr) || amr.length === 0) throw new TypeError('amr must be a short, non-empty list of method references');
  if (!(authTime instanceof Date) || Number.isNaN(authTime.getTime())) throw new TypeError('auth time must be a date');
}

export function createAccessTokens(deps: AccessTokenDeps): AccessTokens {
  const { issuer, audience, ttlSeconds, clock, keys } = deps;
  assertAccessTokenTTL(ttlSeconds);
  if (issuer === '' || audience === '') throw new TypeError('issuer and audience are required');
  const cache = deps.cache ?? createVerifiedTokenCache<AccessClaims>({ maxEntries: DEFAULT_VERIFIED_TOKEN_ENTRIES, clock });

  // Only keys we publish: never one named by the token (`jwk`, `jku`, `x5u`). The
  // algorithm is the `algorithms` allowlist's to judge, and jose judges it before it asks
  // for a key, so no other algorithm ever reaches one. A second check here would make the
  // allowlist untestable: the token it alone stops (our own key under alg "Ed25519",
  // which jose would verify) is in tokens.security.test.ts.
  async function resolveKey(header: CompactJWSHeaderParameters): Promise<KeyObject> {
    if (typeof header.kid !== 'string') throw new KeyNotFound();
    const key = await keys.publicKey(header.kid);
    if (key === null) throw new KeyNotFound();
    return key;
  }

  async function verifyUncached(token: string): Promise<AccessClaims | null> {
    const { payload } = await jwtVerify(token, resolveKey, {
      algorithms: ALGORITHMS,
      typ: ACCESS_TOKEN_TYPE,
      issuer,
      audience,
      requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
      // Also refuses an `iat` in the future and a token older than our own lifetime.
      maxTokenAge: ttlSeconds,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: clock(),
    });
    return toAccessClaims(payload);
  }

  return {
    async issue(subject) {
      assertSubject(subject);
      const { kid, privateKey } = await keys.current();
      const now = clock();
      const iat = Math.floor(now.getTime() / 1000);
      const jti = uuidv7(now.getTime());
      const token = signEdDSAJWT(
        { alg: 'EdDSA', typ: ACCESS_TOKEN_TYPE, kid },
        {
          sid: subject.sid,
          roles: [...subject.roles],
          amr: [...subject.amr],
          auth_time: Math.floor(subject.authTime.getTime() / 1000),
          iss: issuer,
          aud: audience,
          sub: subject.sub,
          iat,
          exp: iat + ttlSeconds,
          jti,
        },
        privateKey,
      );
      if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw new RangeError('the access token would exceed its size limit');
      return { token, expiresIn: ttlSeconds, jti };
    },
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_ACCESS_TOKEN_LENGTH) return null;
      try {
        return await cache.load(token, () => verifyUncached(token));
      } catch {
        // Every failure looks the same from outside, including a key store that is down.
        return null;
      }
    },
  };
}
