// Which audit events become security webhooks, and the JSON a receiver gets. The payload
// is built from the audit event only, whose details are already bounded and refused any
// secret-named key (core/audit/details.ts), so no password or token can reach it; it is
// a fixed set of snake_case fields, a public contract like the error codes.
import type { AppendedAuditEvent, AuditEventInput } from '../../core/audit/types.ts';
import { prepareDetails } from '../../core/audit/details.ts';

/** Audit actions a SIEM or on-call wants to hear about at once. */
export const WEBHOOK_ACTIONS: ReadonlySet<string> = new Set([
  'auth.locked',
  // Someone who knows the password is failing the second factor.
  'auth.mfa_locked',
  'mfa.reset_by_admin',
  // A cloned authenticator or a replayed assertion.
  'passkey.counter_regression',
  'token.reuse_detected',
  'role.assigned',
  'role.removed',
  'role.created',
  'role.updated',
  'role.deleted',
  'audit.verify_failed',
  // Incident containment (docs/incident-containment.md): whoever watches wants to know at once.
  'incident.sign_out',
  'incident.password_reset_forced',
  'incident.registration_frozen',
  'incident.registration_unfrozen',
  'incident.maintenance_started',
  'incident.maintenance_ended',
  // A leaked signing key withdrawn at once (`gatehouse keys retire-signing KID --now`), and
  // the calm rotation (`gatehouse keys rotate-signing`): either changes what signs tokens.
  'signing_key.retired',
  'signing_key.rotated',
  // The audit chain handed over to a new key (`gatehouse keys rotate-audit`).
  'audit.key_rotated',
]);

// A successful login is routine, unless the account holds the admin role: the login
// flow marks those with `details.admin === true`.
const ADMIN_LOGIN_ACTION = 'auth.login_succeeded';

export function isWebhookEvent(event: AuditEventInput): boolean {
  if (WEBHOOK_ACTIONS.has(event.action)) return true;
  return event.action === ADMIN_LOGIN_ACTION && event.details?.['admin'] === true;
}

export interface WebhookPayload {
  /** The audit event's id: the same for every receiver and every retry (deduplicate on it). */
  readonly id: string;
  /** The audit action, e.g. `auth.locked`. */
  readonly type: string;
  readonly occurred_at: string;
  readonly actor: { readonly type: string; readonly id: string | null };
  readonly target: { readonly type: string; readonly id: string } | null;
  readonly outcome: string;
  readonly ip: string | null;
  readonly request_id: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  /** Where to find the record in the audit trail (`gatehouse audit verify` covers it). */
  readonly audit_seq: number;
}

/**
 * The receiver's view of `event`; `occurredAt` is the clock reading of the append. The
 * client's IP address is personal data: it is sent only with WEBHOOK_INCLUDE_IP=true
 * (`ip` is null otherwise; the audit trail keeps it).
 */
export function webhookPayload(event: AuditEventInput, appended: AppendedAuditEvent, occurredAt: Date, options: { readonly includeIp: boolean }): WebhookPayload {
  return {
    id: appended.id,
    type: event.action,
    occurred_at: occurredAt.toISOString(),
    actor: { type: event.actor.type, id: event.actor.id ?? null },
    target: event.target === undefined ? null : { type: event.target.type, id: event.target.id },
    outcome: event.outcome,
    ip: options.includeIp ? (event.ip ?? null) : null,
    request_id: event.requestId ?? null,
    // The same bounded copy the audit record stored (the append already accepted it).
    details: prepareDetails(event.details).value,
    audit_seq: appended.seq,
  };
}
