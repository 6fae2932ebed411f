// Everything about a record that depends neither on its place in the chain nor on the key
// in force there (which a rotation may change), computed before the chain lock so the
// serialized section stays as short as possible.
import { uuidv7 } from '../crypto/ids.ts';
import { cleanText, prepareDetails } from './details.ts';
import { AuditInputError } from './errors.ts';
import type { AuditDeps, AuditEventInput, AuditContent, AuditOutcome } from './types.ts';

// Event vocabulary is chosen by the code, not by users: `user`, `session.revoke`, `admin:keys`.
const NAME_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];
const MAX_ID = 256;
const MAX_IP = 64;
const MAX_USER_AGENT = 512;
const MAX_REQUEST_ID = 128;

/** A record without its place in the chain and its key, with `details` as the canonical JSON text to store. */
export interface PreparedAuditEvent {
  readonly content: Omit<AuditContent, 'seq' | 'prev_hash' | 'key_id' | 'personal_digest' | 'network_digest'>;
  readonly occurredAt: string;
  readonly detailsText: string;
}

function name(value: string, field: string): string {
  if (!NAME_PATTERN.test(value)) throw new AuditInputError('invalid_field', `${field} must match ${NAME_PATTERN.source}`);
  return value;
}

function optionalText(value: string | undefined, max: number): string | null {
  return value === undefined ? null : cleanText(value, max);
}

export function prepareAuditEvent(deps: Pick<AuditDeps, 'clock'>, event: AuditEventInput): PreparedAuditEvent {
  const now = deps.clock();
  if (Number.isNaN(now.getTime())) throw new AuditInputError('invalid_field', 'the clock returned an invalid date');
  if (!OUTCOMES.includes(event.outcome)) throw new AuditInputError('invalid_field', 'outcome must be success, failure or denied');
  const details = prepareDetails(event.details);
  const occurredAt = now.toISOString();
  const id = uuidv7(now.getTime());
  const ip = optionalText(event.ip, MAX_IP);
  const userAgent = optionalText(event.userAgent, MAX_USER_AGENT);
  return {
    occurredAt,
    detailsText: details.text,
    content: {
      id,
      occurred_at: occurredAt,
      actor_type: name(event.actor.type, 'actor.type'),
      actor_id: optionalText(event.actor.id, MAX_ID),
      action: name(event.action, 'action'),
      target_type: event.target === undefined ? null : name(event.target.type, 'target.type'),
      target_id: event.target === undefined ? null : cleanText(event.target.id, MAX_ID),
      outcome: event.outcome,
      ip,
      user_agent: userAgent,
      request_id: optionalText(event.requestId, MAX_REQUEST_ID),
      details: details.value,
    },
  };
}
