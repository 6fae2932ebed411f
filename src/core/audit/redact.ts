// Redacting the personal data of audit records in place (migration 0017): the only UPDATE
// the append-only trigger lets through, on records with a personal digest, and only to
// remove the user agent and, with it, remove the address or cut it to its network
// (audit_truncate_ip()). The chain still verifies: the hash covers the digest, and
// verification accepts a redacted record (personal.ts). Records written before migration
// 0017 have no digest and are left as they are.
import { sql } from 'kysely';
import type { DB } from '../db/database.ts';

/**
 * Removes the address and user agent of every record about the user: records they did
 * (actor), records about their account or one of their sessions (target). Run before
 * the sessions are deleted, which name the session records.
 */
export async function redactPersonalDataAbout(trx: DB, userId: string): Promise<number> {
  const result = await trx
    .updateTable('audit_events')
    .set({ ip: null, user_agent: null })
    .where('personal_digest', 'is not', null)
    .where((eb) => eb.or([eb('ip', 'is not', null), eb('user_agent', 'is not', null)]))
    .where((eb) =>
      eb.or([
        eb('actor_id', '=', userId),
        eb('target_id', '=', userId),
        eb('target_id', 'in', eb.selectFrom('sessions').select((inner) => inner.cast<string>('id', 'text').as('id')).where('user_id', '=', userId)),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Cuts the addresses of up to `limit` records older than `before` to their network and removes their user agents; answers how many. */
export async function truncateOldAuditAddresses(db: DB, before: Date, limit: number): Promise<number> {
  const due = db
    .selectFrom('audit_events')
    .select('seq')
    .where('occurred_at', '<', before)
    .where('personal_digest', 'is not', null)
    .where((eb) => eb.or([eb('user_agent', 'is not', null), sql<boolean>`ip IS DISTINCT FROM audit_truncate_ip(ip)`]))
    .orderBy('seq')
    .limit(limit);
  const result = await db
    .updateTable('audit_events')
    .set({ ip: sql<string | null>`audit_truncate_ip(ip)`, user_agent: null })
    .where('seq', 'in', due)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
