// The bearer token a scraper presents on the public port. Both sides are hashed first,
// so the comparison is constant-time over equal-length digests and reveals neither the
// token's length nor how much of a guess was right.
import { createHash, timingSafeEqual } from 'node:crypto';

const MAX_AUTHORIZATION_LENGTH = 4096;
const SCHEME = 'bearer ';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Whether an Authorization header carries `token`. The scheme name is case-insensitive (RFC 7235 §2.1). */
export type ScrapeTokenCheck = (authorization: string | undefined) => boolean;

export function createScrapeTokenCheck(token: string): ScrapeTokenCheck {
  const expected = digest(token);
  return (authorization) => {
    // The token may hold any printable character (METRICS_TOKEN's rule), so everything
    // after the scheme is the token, not only token68 characters.
    if (authorization === undefined || authorization.length > MAX_AUTHORIZATION_LENGTH) return false;
    if (authorization.slice(0, SCHEME.length).toLowerCase() !== SCHEME) return false;
    return timingSafeEqual(digest(authorization.slice(SCHEME.length)), expected);
  };
}
