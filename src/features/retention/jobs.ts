// What Gatehouse forgets, and when (docs/privacy.md): the scheduled purges. Each deletes
// only rows nobody can use any more, after a grace period that keeps them for incident
// investigation; none touches the audit trail (AUDIT_RETENTION_DAYS and `gatehouse audit
// prune` do). Every purge is a bounded batch, so one run never holds the database long.
// Erasing an account is an audited change like any other (actor `system`).
import { sql } from 'kysely';
import type { RequestContext } from '../../core/audit/auditor.ts';
import { truncateOldAuditAddresses } from '../../core/audit/redact.ts';
import type { Changes } from '../../core/change.ts';
import type { ScheduledJob } from '../../core/jobs/scheduler.ts';
import type { DB } from '../../core/db/database.ts';
import { DEFAULT_ROLE, eraseAccount } from '../users/index.ts';
import { minimizeSessionDevices } from '../sessions/index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';

const DAY = 86_400;
const HOUR = 3600;
const BATCH = 5000;
/** Each is opened and sealed again in JavaScript, one update each. */
const SESSION_DEVICE_BATCH = 1000;

export interface RetentionPolicy {
  /** Ended sessions (revoked or expired) and their refresh tokens are kept this long. */
  readonly sessionsDays: number;
  /** Used or expired one-time tokens and login challenges. */
  readonly tokensDays: number;
  /** Lockout counters untouched this long, and not locking now, are forgotten. */
  readonly lockoutDays: number;
  /** Accounts whose address was never confirmed (so never usable) are erased after this long. */
  readonly unverifiedDays: number;
  /** IP_RETENTION_DAYS: addresses are cut to their network, and user agents removed, after this long. */
  readonly ipDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { sessionsDays: 30, tokensDays: 1, lockoutDays: 30, unverifiedDays: 7, ipDays: 30 };

export interface RetentionDeps {
  readonly change: Changes;
  /** Opens and re-seals the device data of old sessions. */
  readonly keyring: Keyring;
}

/** Each account erased in its own change, so a batch never holds the audit chain long. */
const ERASE_BATCH = 200;
const SYSTEM: RequestContext = { ip: null, userAgent: null, requestId: null };

const daysBefore = (now: Date, days: number): Date => new Date(now.getTime() - days * DAY * 1000);

async function removed(result: Promise<{ numDeletedRows: bigint }>): Promise<number> {
  return Number((await result).numDeletedRows);
}

/**
 * Accounts never confirmed: nobody could log in to them, and someone may have registered
 * another person's address. Only accounts holding no role but the default `user` (an account an
 * administrator made an administrator waits for its owner).
 */
async function eraseUnverifiedAccounts(deps: RetentionDeps, db: DB, cutoff: Date, now: Date): Promise<number> {
  const due = (from: DB) =>
    from
      .selectFrom('users')
      .select(['id', 'email_index'])
      .where('email_verified_at', 'is', null)
      .where('created_at', '<', cutoff)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('user_roles').select('user_roles.user_id').whereRef('user_roles.user_id', '=', 'users.id').where('user_roles.role', '<>', DEFAULT_ROLE))));
  let erased = 0;
  for (const candidate of await due(db).limit(ERASE_BATCH).execute()) {
    erased += await deps.change(SYSTEM, async ({ trx, audit }) => {
      // Still due when the change runs (the address may have been confirmed since).
      const user = await due(trx).where('id', '=', candidate.id).forUpdate().executeTakeFirst();
      if (user === undefined) return 0;
      const revoked = await eraseAccount(trx, { id: user.id, emailIndex: user.email_index }, 'user_deleted', now);
      audit({ actor: { type: 'system', id: 'retention' }, action: 'user.deleted', target: { type: 'user', id: user.id }, outcome: 'success', details: { reason: 'never_verified', sessions_revoked: revoked } });
      return 1;
    });
  }
  return erased;
}

export function retentionJobs(deps: RetentionDeps, policy: RetentionPolicy = DEFAULT_RETENTION): ScheduledJob[] {
  return [
    {
      name: 'purge-sessions',
      everySeconds: HOUR,
      description: `sessions ended (revoked or expired) more than ${policy.sessionsDays} days ago, with their refresh tokens`,
      run: (db: DB, now: Date) => {
        const cutoff = daysBefore(now, policy.sessionsDays);
        const due = db
          .selectFrom('sessions')
          .select('id')
          .where((eb) => eb.or([eb('revoked_at', '<', cutoff), eb('expires_at', '<', cutoff), eb('idle_expires_at', '<', cutoff)]))
          .limit(BATCH);
        return removed(db.deleteFrom('sessions').where('id', 'in', due).executeTakeFirst());
      },
    },
    {
      name: 'purge-one-time-tokens',
      everySeconds: HOUR,
      description: `verification and reset links used or expired more than ${policy.tokensDays} day(s) ago`,
      run: (db: DB, now: Date) => {
        const cutoff = daysBefore(now, policy.tokensDays);
        const due = db
          .selectFrom('one_time_tokens')
          .select('token_hash')
          .where((eb) => eb.or([eb('used_at', '<', cutoff), eb('expires_at', '<', cutoff)]))
          .limit(BATCH);
        return removed(db.deleteFrom('one_time_tokens').where('token_hash', 'in', due).executeTakeFirst());
      },
    },
    {
      name: 'purge-login-challenges',
      everySeconds: HOUR,
      description: `second-step (mfa_token) and WebAuthn challenges expired more than ${policy.tokensDays} day(s) ago`,
      run: async (db: DB, now: Date) => {
        const cutoff = daysBefore(now, policy.tokensDays);
        const mfa = await removed(db.deleteFrom('mfa_challenges').where('token_hash', 'in', db.selectFrom('mfa_challenges').select('token_hash').where('expires_at', '<', cutoff).limit(BATCH)).executeTakeFirst());
        const webauthn = await removed(
          db.deleteFrom('webauthn_challenges').where('challenge_hash', 'in', db.selectFrom('webauthn_challenges').select('challenge_hash').where('expires_at', '<', cutoff).limit(BATCH)).executeTakeFirst(),
        );
        return mfa + webauthn;
      },
    },
    {
      name: 'purge-lockout-counters',
      everySeconds: 6 * HOUR,
      description: `lockout counters (per account, device and session) untouched for ${policy.lockoutDays} days and not locking now; their doubling history goes with them`,
      run: (db: DB, now: Date) => {
        const cutoff = daysBefore(now, policy.lockoutDays);
        const due = db
          .selectFrom('login_failures')
          .select('subject')
          .where('updated_at', '<', cutoff)
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`${now}::timestamptz`)]))
          .limit(BATCH);
        return removed(db.deleteFrom('login_failures').where('subject', 'in', due).executeTakeFirst());
      },
    },
    {
      name: 'truncate-old-addresses',
      everySeconds: HOUR,
      description: `IP addresses older than ${policy.ipDays} days (IP_RETENTION_DAYS) in audit records and sessions cut to their network (/24, /48), their user agents removed; the audit chain still verifies`,
      run: async (db: DB, now: Date) => {
        const cutoff = daysBefore(now, policy.ipDays);
        const audit = await truncateOldAuditAddresses(db, cutoff, BATCH);
        // Sealed under each owner's key (sessions/device.ts): opened, cut and sealed again here.
        const sessions = await minimizeSessionDevices(db, deps.keyring, { before: cutoff, now, limit: SESSION_DEVICE_BATCH });
        return audit + sessions;
      },
    },
    {
      name: 'purge-unverified-accounts',
      everySeconds: 6 * HOUR,
      description: `accounts whose address was not confirmed within ${policy.unverifiedDays} days and that hold no role but user: erased like a deletion (data key shredded, audited)`,
      run: (db: DB, now: Date) => eraseUnverifiedAccounts(deps, db, daysBefore(now, policy.unverifiedDays), now),
    },
  ];
}
