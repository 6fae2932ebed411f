// The claims of a verified access token (RFC 9068 profile, plus our `sid` and `roles`),
// narrowed from the untyped payload. Anything of the wrong shape is not one of our
// tokens, even if it is signed by our key. The result is frozen because the verified-
// token cache hands the same object to every request presenting that token.
import type { JWTPayload } from 'jose';

export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  /** The session this token belongs to: callers check it is still live. */
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly roles: readonly string[];
  /** RFC 8176 method references of the session at issue; empty in a token without them. */
  readonly amr: readonly string[];
  /** When the user last authenticated (seconds), or null in a token without it. */
  readonly authTime: number | null;
}

const MAX_ID_LENGTH = 256;
const MAX_ROLES = 64;
const MAX_ROLE_LENGTH = 64;
const MAX_AMR = 8;
const MAX_AMR_LENGTH = 16;

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

export function isRoleList(value: unknown): value is readonly string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_ROLES &&
    value.every((role) => typeof role === 'string' && role.length > 0 && role.length <= MAX_ROLE_LENGTH)
  );
}

export function isAMRList(value: unknown): value is readonly string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_AMR &&
    value.every((method) => typeof method === 'string' && method.length > 0 && method.length <= MAX_AMR_LENGTH)
  );
}

export function toAccessClaims(payload: JWTPayload): AccessClaims | null {
  const { iss, aud, sub, jti, iat, exp } = payload;
  const sid = payload['sid'];
  const roles = payload['roles'];
  if (!isId(iss) || !isId(aud) || !isId(sub) || !isId(sid) || !isId(jti)) return null;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || typeof iat !== 'number' || typeof exp !== 'number') return null;
  if (!isRoleList(roles)) return null;
  // Tokens issued before these claims existed lack them (they live minutes): such a token
  // shows no method, so it passes no check that needs one.
  const amr = payload['amr'] ?? [];
  const authTime = payload['auth_time'] ?? null;
  if (!isAMRList(amr)) return null;
  if (authTime !== null && (typeof authTime !== 'number' || !Number.isSafeInteger(authTime))) return null;
  return Object.freeze({ iss, aud, sub, sid, jti, iat, exp, roles: Object.freeze([...roles]), amr: Object.freeze([...amr]), authTime });
}
