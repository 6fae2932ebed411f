// The personal data of an audit record, its IP address and user agent, is committed to by
// a digest that the chain's hash covers in its place (migration 0017), so it can be
// redacted in place without breaking the chain: erased with the account it is about, or
// cut to its network after IP_RETENTION_DAYS. The digest is an HMAC under the record's
// audit key, bound to the record's id: without the key an address cannot be guessed back
// from it (there are only 2^32 IPv4 addresses), and a digest cannot be moved to another
// record.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJSON } from './canonical.ts';

export function personalDigest(key: Buffer, record: { readonly id: string; readonly ip: string | null; readonly user_agent: string | null }): string {
  return createHmac('sha256', key).update(`personal\n${canonicalJSON({ id: record.id, ip: record.ip, user_agent: record.user_agent })}`).digest('hex');
}

/** What a redaction leaves: no user agent, and no address or only its network (an IPv4 /24 or an IPv6 /48, as audit_truncate_ip() writes it). */
export function isRedacted(record: { readonly ip: string | null; readonly user_agent: string | null }): boolean {
  if (record.user_agent !== null) return false;
  if (record.ip === null) return true;
  const ip = record.ip;
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.0$/.test(ip)) return true;
  // An IPv6 /48: at most three groups, then `::`.
  return ip.endsWith('::') && /^[0-9a-f:]{2,17}$/.test(ip) && ip.split(':').length <= 5;
}

/**
 * Whether the record's ip and user agent are the ones it was written with, or a
 * redaction of them. A record without a digest has nothing to check here (its hash covers
 * the values).
 */
export function personalDataIntact(key: Buffer, record: { readonly id: string; readonly ip: string | null; readonly user_agent: string | null; readonly personal_digest?: string | null }): boolean {
  const stored = record.personal_digest;
  if (stored === null || stored === undefined) return true;
  const expected = Buffer.from(personalDigest(key, record), 'hex');
  if (/^[0-9a-f]{64}$/.test(stored) && timingSafeEqual(expected, Buffer.from(stored, 'hex'))) return true;
  return isRedacted(record);
}
