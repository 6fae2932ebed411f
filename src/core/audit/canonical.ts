// One byte-exact text for a record's content, so the HMAC computed at append time is
// recomputed identically from what PostgreSQL hands back: jsonb reorders keys and
// timestamptz comes back as a Date, so keys are sorted recursively (by UTF-16 code
// unit, independent of locale) and the time is always the ISO form with milliseconds.
import type { AuditContent } from './types.ts';

function canonicalObject(value: object): string {
  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJSON(item)}`).join(',')}}`;
}

/** JSON with object keys sorted at every depth; throws on anything JSON cannot carry. */
export function canonicalJSON(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot carry a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJSON(item)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return canonicalObject(value);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === null) return canonicalObject(value);
  throw new TypeError(`canonical JSON cannot carry a ${typeof value}`);
}

function isoTime(value: Date | string): string {
  // An export line carries the string this function produced; anything else fails the HMAC.
  return typeof value === 'string' ? value : value.toISOString();
}

/**
 * The text the hash covers: every column but `hash`, picked by name so that extra
 * properties on an input (an export line's `hash`, a driver's additions) never count.
 * A record with personal digests is covered through them, not through its ip and user
 * agent (which may be redacted later); an older record through the values themselves.
 */
export function canonicalContent(record: AuditContent): string {
  const personal =
    record.personal_digest === null || record.personal_digest === undefined
      ? { ip: record.ip, user_agent: record.user_agent }
      : { personal_digest: record.personal_digest, network_digest: record.network_digest ?? null };
  return canonicalJSON({
    seq: record.seq,
    id: record.id,
    occurred_at: isoTime(record.occurred_at),
    actor_type: record.actor_type,
    actor_id: record.actor_id,
    action: record.action,
    target_type: record.target_type,
    target_id: record.target_id,
    outcome: record.outcome,
    ...personal,
    request_id: record.request_id,
    details: record.details,
    key_id: record.key_id,
    prev_hash: record.prev_hash,
  });
}
