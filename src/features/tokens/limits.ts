// The numbers that tie signing, verification and rotation together. They live in one
// place because rotation's publication window is only safe if it covers all of them.

/** Verifiers accept `exp`/`iat` this far off, for clock drift between instances. */
export const CLOCK_TOLERANCE_SECONDS = 60;

/**
 * The longest an instance may keep signing with a key it loaded earlier. A signing key
 * source refreshes at least this often, so after a rotation every instance has switched
 * keys within this time; rotation keeps the old key published for it too.
 */
export const MAX_SIGNING_STATE_AGE_MS = 60_000;

/**
 * Our access tokens are a few hundred bytes. Anything near this bound is not one of
 * them, and refusing it before parsing keeps a hostile header from costing base64 and
 * JSON work (or memory in the verified-token cache).
 */
export const MAX_ACCESS_TOKEN_LENGTH = 4096;

/** The longest access-token lifetime this server agrees to configure (one day). */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;

export function assertAccessTokenTTL(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new RangeError(`the access token lifetime must be an integer from 1 to ${MAX_ACCESS_TOKEN_TTL_SECONDS} seconds`);
  }
}
