// The statements that write a record under the chain lock. Each reads the head in a
// statement started after the lock is granted, so in READ COMMITTED it sees the previous
// holder's committed record.
import { sql, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import type { PreparedAuditEvent } from './prepare.ts';
import { computeAuditHash } from './seal.ts';
import type { AppendedAuditEvent, ChainPosition } from './types.ts';

/** A prepared record sealed after `head`: ready to insert as the record following it. */
export interface SealedAuditEvent {
  readonly prepared: PreparedAuditEvent;
  readonly content: PreparedAuditEvent['content'] & { readonly seq: number; readonly prev_hash: string };
  readonly hash: string;
}

export function sealAfter(key: Buffer, prepared: PreparedAuditEvent, head: ChainPosition): SealedAuditEvent {
  const content = { ...prepared.content, seq: head.seq + 1, prev_hash: head.hash };
  return { prepared, content, hash: computeAuditHash(key, content) };
}

/** Appends after `head`, which `lockAndInsertIfHead` read under the lock it took. */
export async function insertAfter(trx: Transaction<Schema>, key: Buffer, prepared: PreparedAuditEvent, head: ChainPosition): Promise<AppendedAuditEvent> {
  const { content, hash } = sealAfter(key, prepared, head);
  await trx
    .insertInto('audit_events')
    .values({ ...content, occurred_at: prepared.occurredAt, details: prepared.detailsText, hash })
    .execute();
  return { seq: content.seq, id: content.id, hash };
}

/**
 * Takes the chain lock and appends `sealed` if the record it was sealed after is still
 * the head, in one round trip (`audit_append`, migration 0003); the lock stays held
 * until the caller's transaction ends. The record is sealed before the call, so the key
 * never leaves the process. Returns the real head, read under the lock, when the guess
 * was wrong and nothing was written.
 */
export async function lockAndInsertIfHead(
  trx: Transaction<Schema>,
  sealed: SealedAuditEvent,
  options: { readonly lockId: number; readonly deferFlush: boolean },
): Promise<{ readonly appended: AppendedAuditEvent } | { readonly head: ChainPosition }> {
  const { prepared, content: c, hash } = sealed;
  const result = await sql<{ appended: boolean; head_seq: string | number; head_hash: string }>`
    SELECT appended, head_seq, head_hash FROM audit_append(
      ${options.lockId}::bigint, ${options.deferFlush}::boolean,
      ${c.seq}::bigint, ${c.id}::uuid, ${prepared.occurredAt}::timestamptz, ${c.actor_type}::text, ${c.actor_id}::text, ${c.action}::text, ${c.target_type}::text, ${c.target_id}::text,
      ${c.outcome}::text, ${c.ip}::text, ${c.user_agent}::text, ${c.personal_digest ?? null}::text, ${c.network_digest ?? null}::text, ${c.request_id}::text,
      ${prepared.detailsText}::jsonb, ${c.key_id}::text, ${c.prev_hash}::text, ${hash}::text)`.execute(trx);
  const row = result.rows[0];
  if (row === undefined) throw new Error('audit_append returned no row');
  if (row.appended) return { appended: { seq: c.seq, id: c.id, hash } };
  return { head: { seq: Number(row.head_seq), hash: row.head_hash } };
}
