// The personal data of an audit record, its IP address and user agent, is committed to by
// two digests that the chain's hash covers in their place (migration 0017), so it can be
// redacted in place without breaking the chain, and only in the two ways the trigger
// allows:
// - cut: the user agent removed and the address cut to its network (/24 for IPv4, /48 for
//   IPv6), which must match `network_digest` (so no other network passes);
// - removed: both NULL (erasure of the person who did it).
// Each digest is an HMAC under the record's audit key, bound to the record's id: without
// the key an address cannot be guessed back from it (there are only 2^32 IPv4 addresses),
// and a digest cannot be moved to another record.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { expandIPv6 } from '../http/client-address.ts';
import { canonicalJSON } from './canonical.ts';
import { longLivedKey } from '../crypto/long-lived-key.ts';

interface Personal {
  readonly id: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
}

/**
 * The network of an address in one canonical spelling, whatever spelling the address
 * came in (PostgreSQL's host() output included); null when it is not an address, as
 * audit_truncate_ip() answers NULL.
 */
export function networkOf(ip: string | null): string | null {
  if (ip === null) return null;
  if (isIPv4(ip)) return `${ip.split('.').slice(0, 3).map(Number).join('.')}.0/24`;
  if (!isIPv6(ip)) return null;
  const groups = expandIPv6(ip.toLowerCase());
  if (groups === null) return null;
  return `${groups.slice(0, 3).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/48`;
}

/** Whether an address is exactly its own network (what a cut leaves). */
function isNetwork(ip: string): boolean {
  if (isIPv4(ip)) return ip.endsWith('.0');
  const groups = isIPv6(ip) ? expandIPv6(ip.toLowerCase()) : null;
  return groups !== null && groups.slice(3).every((group) => Number.parseInt(group, 16) === 0);
}

function hmac(key: Buffer, label: string, value: unknown): string {
  return createHmac('sha256', longLivedKey(key)).update(`${label}\n${canonicalJSON(value)}`).digest('hex');
}

export function personalDigest(key: Buffer, record: Personal): string {
  return hmac(key, 'personal', { id: record.id, ip: record.ip, user_agent: record.user_agent });
}

export function networkDigest(key: Buffer, record: Pick<Personal, 'id' | 'ip'>): string {
  return hmac(key, 'network', { id: record.id, network: networkOf(record.ip) });
}

function sameDigest(expected: string, stored: unknown): boolean {
  return typeof stored === 'string' && /^[0-9a-f]{64}$/.test(stored) && timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(stored, 'hex'));
}

/**
 * Whether the record's ip and user agent are the ones it was written with, or one of the
 * two redactions of them. A record without digests has nothing to check here (its hash
 * covers the values). Never throws: a malformed export line is simply not intact.
 */
export function personalDataIntact(key: Buffer, record: Personal & { readonly personal_digest?: unknown; readonly network_digest?: unknown }): boolean {
  if (record.personal_digest === null || record.personal_digest === undefined) return true;
  const { ip, user_agent: userAgent } = record;
  if ((ip !== null && typeof ip !== 'string') || (userAgent !== null && typeof userAgent !== 'string')) return false;
  try {
    if (sameDigest(personalDigest(key, record), record.personal_digest)) return true;
    if (userAgent !== null) return false;
    if (ip === null) return true;
    return isNetwork(ip) && sameDigest(networkDigest(key, record), record.network_digest);
  } catch {
    return false;
  }
}
