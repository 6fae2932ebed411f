// The PHC string format for Argon2id, as the reference implementation writes it:
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>
// with salt and tag in standard base64 without padding (P-H-C/phc-string-format).
//
// Parsing is strict and bounded: a stored hash decides how much memory and CPU the next
// verification costs, so a tampered or corrupted row must not be able to ask for 4 GiB or
// a thousand passes. Anything outside the bounds, any extra field, any other variant or
// version, and any non-canonical encoding is refused as unparseable.

export interface Argon2Cost {
  /** Memory in KiB (1 KiB blocks). */
  readonly memoryKiB: number;
  /** Passes over memory (t). */
  readonly passes: number;
  /** Lanes (p). */
  readonly parallelism: number;
}

export interface Argon2idHash {
  readonly cost: Argon2Cost;
  readonly salt: Buffer;
  readonly tag: Buffer;
}

/** The most a stored hash may ask for; the hasher's own parameters must fit inside too. */
export const ARGON2_COST_LIMITS = {
  memoryKiB: { min: 8, max: 262_144 },
  passes: { min: 1, max: 10 },
  parallelism: { min: 1, max: 8 },
} as const;

const SALT_BYTES = { min: 8, max: 64 } as const;
const TAG_BYTES = { min: 16, max: 64 } as const;
// Long enough for the largest salt and tag above; anything longer is refused before the
// regular expression runs.
const MAX_ENCODED_LENGTH = 256;

// Decimal numbers without leading zeros (PHC: "no leading zero"), so one hash has one
// spelling; base64 groups are checked for canonical form after decoding.
const PHC_ARGON2ID = /^\$argon2id\$v=19\$m=([1-9][0-9]{0,8}),t=([1-9][0-9]{0,8}),p=([1-9][0-9]{0,8})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function withinLimits(value: number, limits: { readonly min: number; readonly max: number }): boolean {
  return Number.isSafeInteger(value) && value >= limits.min && value <= limits.max;
}

/** True when the cost is one this server would compute: bounded, and m ≥ 8·p (RFC 9106 §3.1). */
export function isAcceptableCost(cost: Argon2Cost): boolean {
  return (
    withinLimits(cost.memoryKiB, ARGON2_COST_LIMITS.memoryKiB) &&
    withinLimits(cost.passes, ARGON2_COST_LIMITS.passes) &&
    withinLimits(cost.parallelism, ARGON2_COST_LIMITS.parallelism) &&
    cost.memoryKiB >= 8 * cost.parallelism
  );
}

function encodeBase64NoPadding(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

// Buffer.from(…, 'base64') is lenient (it skips junk and ignores stray trailing bits), so
// the decoded bytes must re-encode to exactly the input.
function decodeCanonicalBase64(text: string, limits: { readonly min: number; readonly max: number }): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  if (!withinLimits(bytes.length, limits)) return null;
  return encodeBase64NoPadding(bytes) === text ? bytes : null;
}

export function formatArgon2idHash(hash: Argon2idHash): string {
  const { memoryKiB, passes, parallelism } = hash.cost;
  return `$argon2id$v=19$m=${memoryKiB},t=${passes},p=${parallelism}$${encodeBase64NoPadding(hash.salt)}$${encodeBase64NoPadding(hash.tag)}`;
}

/** The parsed hash, or null for anything that is not a bounded, canonical Argon2id v1.3 PHC string. */
export function parseArgon2idHash(encoded: string): Argon2idHash | null {
  if (encoded.length > MAX_ENCODED_LENGTH) return null;
  const match = PHC_ARGON2ID.exec(encoded);
  if (match === null) return null;
  const [, m, t, p, saltText, tagText] = match;
  if (m === undefined || t === undefined || p === undefined || saltText === undefined || tagText === undefined) return null;
  const cost: Argon2Cost = { memoryKiB: Number(m), passes: Number(t), parallelism: Number(p) };
  if (!isAcceptableCost(cost)) return null;
  const salt = decodeCanonicalBase64(saltText, SALT_BYTES);
  const tag = decodeCanonicalBase64(tagText, TAG_BYTES);
  if (salt === null || tag === null) return null;
  return { cost, salt, tag };
}
