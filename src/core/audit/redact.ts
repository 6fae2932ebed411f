// Redacting the personal data of audit records in place (migration 0017), in the only two
// ways the append-only trigger lets through and verification accepts (personal.ts):
// - after an erasure, the address and user agent of what the erased person provably did
//   (their successful records) are removed; other records naming them (an administrator's
//   action, a stranger's failed login) hold other people's data and are left to the cut;
// - after IP_RETENTION_DAYS, every address is cut to its network and every user agent
//   removed, walking the trail once in seq order (audit_redaction_progress).
// Records written before migration 0017 have no digests and are left as they are.
import { sql, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Schema } from '../db/schema.ts';

const TRUNCATION = 'truncate-old-addresses';

/** Removes the address and user agent of the successful records the user did; run after the user row is deleted (the trigger checks). */
export async function redactErasedUserRecords(trx: DB, userId: string): Promise<number> {
  const result = await erasedUserRecordsRedaction(trx, userId).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The query of `redactErasedUserRecords`, for a caller that runs it on a raw session (a backup restore). */
export function erasedUserRecordsRedaction(trx: DB, userId: string): UpdateQueryBuilder<Schema, 'audit_events', 'audit_events', UpdateResult> {
  return trx
    .updateTable('audit_events')
    .set({ ip: null, user_agent: null })
    .where('actor_id', '=', userId)
    .where('actor_type', '=', 'user')
    .where('outcome', '=', 'success')
    .where('personal_digest', 'is not', null)
    .where((eb) => eb.or([eb('ip', 'is not', null), eb('user_agent', 'is not', null)]));
}

/**
 * Cuts the addresses of the next records (at most `limit`, in seq order) older than
 * `before` to their network and removes their user agents, then remembers how far it got,
 * so no record is read twice. Answers how many records changed.
 */
export async function truncateOldAuditAddresses(db: DB, before: Date, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const progress = await trx.selectFrom('audit_redaction_progress').select('through_seq').where('name', '=', TRUNCATION).forUpdate().executeTakeFirst();
    const after = Number(progress?.through_seq ?? 0);
    const batch = await trx.selectFrom('audit_events').select(['seq', 'occurred_at']).where('seq', '>', after).orderBy('seq').limit(limit).execute();
    // The walk stops at the first record that is not old enough: records come in time order.
    const firstRecent = batch.findIndex((row) => new Date(row.occurred_at).getTime() >= before.getTime());
    const due = firstRecent === -1 ? batch : batch.slice(0, firstRecent);
    const last = due.at(-1);
    if (last === undefined) return 0;
    const result = await trx
      .updateTable('audit_events')
      .set({ ip: sql<string | null>`audit_truncate_ip(ip)`, user_agent: null })
      .where('seq', '>', after)
      .where('seq', '<=', last.seq)
      .where('personal_digest', 'is not', null)
      .where((eb) => eb.or([eb('user_agent', 'is not', null), sql<boolean>`ip IS DISTINCT FROM audit_truncate_ip(ip)`]))
      .executeTakeFirst();
    await trx
      .insertInto('audit_redaction_progress')
      .values({ name: TRUNCATION, through_seq: last.seq })
      .onConflict((conflict) => conflict.column('name').doUpdateSet({ through_seq: last.seq }))
      .execute();
    return Number(result.numUpdatedRows);
  });
}
