// hash = HMAC-SHA256(key, prev_hash || "\n" || canonical content). A keyed MAC, not a
// plain digest: whoever can write to the table but does not hold the key cannot
// recompute a valid chain after altering, inserting or removing a record.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { longLivedKey } from '../crypto/long-lived-key.ts';
import { canonicalContent } from './canonical.ts';
import type { AuditContent } from './types.ts';

const HASH_PATTERN = /^[0-9a-f]{64}$/;

function digest(key: Buffer, content: AuditContent): Buffer {
  return createHmac('sha256', longLivedKey(key)).update(`${content.prev_hash}\n${canonicalContent(content)}`).digest();
}

export function computeAuditHash(key: Buffer, content: AuditContent): string {
  return digest(key, content).toString('hex');
}

/** Constant-time comparison of the stored hash with the one recomputed from content. */
export function auditHashMatches(key: Buffer, content: AuditContent, storedHash: string): boolean {
  if (!HASH_PATTERN.test(storedHash)) return false;
  return timingSafeEqual(digest(key, content), Buffer.from(storedHash, 'hex'));
}
