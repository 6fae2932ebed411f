// Reads of the audit trail, newest first, a page at a time (keyset on seq: a page costs
// the same however deep it is, and records appended meanwhile never shift a page).
import type { Kysely } from 'kysely';
import type { AuditOutcome, Schema } from '../../core/db/schema.ts';
import type { AuditRecord } from '../../core/audit/types.ts';

export interface AuditFilter {
  readonly actor?: string;
  readonly target?: string;
  readonly action?: string;
  readonly outcome?: AuditOutcome;
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
}

export interface Page {
  readonly limit: number;
  /** Records with a seq below this one; null for the first page. */
  readonly beforeSeq: number | null;
}

/** Up to `limit + 1` records (the extra one says whether a next page exists). */
export async function listAuditEvents(db: Kysely<Schema>, filter: AuditFilter, page: Page): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_events').selectAll();
  if (filter.actor !== undefined) query = query.where('actor_id', '=', filter.actor);
  if (filter.target !== undefined) query = query.where('target_id', '=', filter.target);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.from !== undefined) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('occurred_at', '<', filter.to);
  if (page.beforeSeq !== null) query = query.where('seq', '<', page.beforeSeq);
  return query.orderBy('seq', 'desc').limit(page.limit + 1).execute();
}

/**
 * The security events a user may see about their own account. Allowlisted: anything
 * else (an admin's other actions, future event kinds) stays out until someone decides
 * it is the user's to see.
 */
export const OWN_EVENT_ACTIONS = [
  'auth.login_succeeded',
  'auth.login_failed',
  'auth.locked',
  'auth.unlocked',
  'session.revoked',
  'token.reuse_detected',
  'password.changed',
  'password.reset_requested',
  'password.reset_completed',
  // An operator required a new password (incident containment).
  'password.reset_required',
  'role.assigned',
  'role.removed',
  'user.created',
  'user.invited',
  'user.registered',
  'user.email_verified',
  'user.updated',
  'user.disabled',
  'user.enabled',
  // Second factors (issue 10): each is about the account's own sign-in security.
  'auth.mfa_challenged',
  'auth.mfa_failed',
  'auth.mfa_locked',
  'auth.reauthenticated',
  'session.upgraded',
  'mfa.totp_enrolment_started',
  'mfa.totp_enabled',
  'mfa.totp_removed',
  'mfa.recovery_codes_regenerated',
  'mfa.recovery_code_used',
  'mfa.reset_by_admin',
  'passkey.registered',
  'passkey.renamed',
  'passkey.removed',
  'passkey.counter_regression',
  // Privacy (issue 12): a copy of everything held about the account left the server.
  'user.exported',
  // Files (docs/privacy.md#uploaded-files): the owner's uploads and deletions, and an
  // administrator listing or downloading them.
  'file.uploaded',
  'file.deleted',
  'file.downloaded',
  'files.listed',
] as const;

export type OwnEventRow = Pick<AuditRecord, 'seq' | 'id' | 'occurred_at' | 'actor_type' | 'actor_id' | 'action' | 'target_type' | 'target_id' | 'outcome' | 'ip' | 'user_agent'>;

/**
 * Records whose target is the user or one of their sessions, never selected by actor:
 * what a user did to someone else (an admin changing another account) is that other
 * person's event. Details are not read at all: they may name other people.
 */
function eventsAbout(db: Kysely<Schema>, userId: string) {
  return db
    .selectFrom('audit_events')
    .select(['seq', 'id', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'outcome', 'ip', 'user_agent'])
    .where((eb) =>
      eb.or([
        eb.and([eb('target_type', '=', 'user'), eb('target_id', '=', userId)]),
        eb.and([
          eb('target_type', '=', 'session'),
          eb('target_id', 'in', eb.selectFrom('sessions').select((inner) => inner.cast<string>('id', 'text').as('id')).where('user_id', '=', userId)),
        ]),
      ]),
    );
}

export async function listOwnEvents(db: Kysely<Schema>, userId: string, page: Page): Promise<OwnEventRow[]> {
  let query = eventsAbout(db, userId).where('action', 'in', OWN_EVENT_ACTIONS);
  if (page.beforeSeq !== null) query = query.where('seq', '<', page.beforeSeq);
  return query.orderBy('seq', 'desc').limit(page.limit + 1).execute();
}

/** Every record about the user (any action; the same targets as listOwnEvents), oldest first, after `afterSeq`: for the data export. */
export async function listEventsAboutUser(db: Kysely<Schema>, userId: string, page: { readonly afterSeq: number; readonly limit: number }): Promise<OwnEventRow[]> {
  return eventsAbout(db, userId).where('seq', '>', page.afterSeq).orderBy('seq', 'asc').limit(page.limit).execute();
}
