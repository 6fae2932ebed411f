// The two statements that write a record under the chain lock. Both run after the lock
// is granted, so in READ COMMITTED each sees the previous holder's committed record.
import { sql, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import type { PreparedAuditEvent } from './prepare.ts';
import { computeAuditHash } from './seal.ts';
import { GENESIS, type AppendedAuditEvent, type ChainPosition } from './types.ts';

function seal(key: Buffer, prepared: PreparedAuditEvent, head: ChainPosition): { content: PreparedAuditEvent['content'] & { seq: number; prev_hash: string }; hash: string } {
  const content = { ...prepared.content, seq: head.seq + 1, prev_hash: head.hash };
  return { content, hash: computeAuditHash(key, content) };
}

export async function readChainHead(trx: Transaction<Schema>): Promise<ChainPosition> {
  const row = await trx.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return row ?? GENESIS;
}

/** Appends after `head`, which the caller read under the lock. */
export async function insertAfter(trx: Transaction<Schema>, key: Buffer, prepared: PreparedAuditEvent, head: ChainPosition): Promise<AppendedAuditEvent> {
  const { content, hash } = seal(key, prepared, head);
  await trx
    .insertInto('audit_events')
    .values({ ...content, occurred_at: prepared.occurredAt, details: prepared.detailsText, hash })
    .execute();
  return { seq: content.seq, id: content.id, hash };
}

/**
 * Appends after `guess` (a record, never genesis) only if it is still the head, in one
 * statement: the read that would otherwise precede the insert is folded into it.
 * Returns null, writing nothing, when the guess is stale. Both guards are index probes
 * (`max` reads the primary key's last entry), so the statement stays cheap however long
 * the chain grows.
 */
export async function insertIfHead(trx: Transaction<Schema>, key: Buffer, prepared: PreparedAuditEvent, guess: ChainPosition): Promise<AppendedAuditEvent | null> {
  const { content: c, hash } = seal(key, prepared, guess);
  const result = await sql<{ seq: number }>`
    INSERT INTO audit_events (seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
                              outcome, ip, user_agent, request_id, details, key_id, prev_hash, hash)
    SELECT ${c.seq}::bigint, ${c.id}::uuid, ${prepared.occurredAt}::timestamptz, ${c.actor_type}::text,
           ${c.actor_id}::text, ${c.action}::text, ${c.target_type}::text, ${c.target_id}::text,
           ${c.outcome}::text, ${c.ip}::text, ${c.user_agent}::text, ${c.request_id}::text,
           ${prepared.detailsText}::jsonb, ${c.key_id}::text, ${c.prev_hash}::text, ${hash}::text
    WHERE (SELECT max(seq) FROM audit_events) = ${guess.seq}::bigint
      AND (SELECT hash FROM audit_events WHERE seq = ${guess.seq}::bigint) = ${guess.hash}::text
    RETURNING seq`.execute(trx);
  return result.rows.length === 1 ? { seq: c.seq, id: c.id, hash } : null;
}
