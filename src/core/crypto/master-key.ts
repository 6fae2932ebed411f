// The master keyring's text form: `id:base64url[,id:base64url...]`, newest first. The
// first key wraps new data; the others still unwrap what they wrapped before a rotation.

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export type MasterKeyParse =
  | { readonly ok: true; readonly keys: readonly MasterKey[] }
  | { readonly ok: false; readonly problems: readonly string[] };

export const MASTER_KEY_BYTES = 32;
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
// A uniformly random 32-byte key shows about 28 distinct byte values; fewer than 16
// means a pattern (repeated characters, a padded password), not 256 bits of entropy.
const MIN_DISTINCT_BYTES = 16;

function parseEntry(entry: string, position: number): MasterKey | string {
  const colon = entry.indexOf(':');
  if (colon <= 0) return `entry ${position} must be "id:base64url-key"`;
  const id = entry.slice(0, colon);
  const encoded = entry.slice(colon + 1);
  if (!ID_PATTERN.test(id)) return `entry ${position} has an invalid key id (lowercase letters, digits, dashes; at most 32)`;
  if (!BASE64URL_PATTERN.test(encoded)) return `key "${id}" is not base64url`;
  const key = Buffer.from(encoded, 'base64url');
  if (key.length !== MASTER_KEY_BYTES) return `key "${id}" must decode to exactly ${MASTER_KEY_BYTES} bytes`;
  if (new Set(key).size < MIN_DISTINCT_BYTES) return `key "${id}" does not look random (too little entropy)`;
  return { id, key };
}

/** Parses the keyring text; problems name the entry and the rule, never key material. */
export function parseMasterKeys(text: string): MasterKeyParse {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) return { ok: false, problems: ['no key given'] };
  const keys: MasterKey[] = [];
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const parsed = parseEntry(entry, index + 1);
    if (typeof parsed === 'string') problems.push(parsed);
    else if (keys.some((key) => key.id === parsed.id)) problems.push(`key id "${parsed.id}" appears twice`);
    else keys.push(parsed);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, keys };
}

export function formatMasterKeys(keys: readonly MasterKey[]): string {
  return keys.map((key) => `${key.id}:${key.key.toString('base64url')}`).join(',');
}
