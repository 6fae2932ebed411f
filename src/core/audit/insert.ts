// The statements that write a record under the chain lock. Each reads the head in a
// statement started after the lock is granted, so in READ COMMITTED it sees the previous
// holder's committed record.
import { sql, type Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { networkDigest, personalDigest } from './personal.ts';
import type { PreparedAuditEvent } from './prepare.ts';
import { computeAuditHash } from './seal.ts';
import type { AppendedAuditEvent, AuditContent, AuditKey, ChainHead, ChainPosition } from './types.ts';

/** A prepared record sealed after `head` under `key`: ready to insert as the record following it. */
export interface SealedAuditEvent {
  readonly prepared: PreparedAuditEvent;
  readonly content: AuditContent & { readonly personal_digest: string; readonly network_digest: string };
  readonly hash: string;
}

/** Seals under `key`: the personal digests are keyed too, so they are computed here with it. */
export function sealAfter(key: AuditKey, prepared: PreparedAuditEvent, head: ChainPosition): SealedAuditEvent {
  const { id, ip, user_agent: userAgent } = prepared.content;
  const content = {
    ...prepared.content,
    personal_digest: personalDigest(key.key, { id, ip, user_agent: userAgent }),
    network_digest: networkDigest(key.key, { id, ip }),
    key_id: key.id,
    seq: head.seq + 1,
    prev_hash: head.hash,
  };
  return { prepared, content, hash: computeAuditHash(key.key, content) };
}

/** Appends after `head`, which `lockAndInsertIfHead` read under the lock it took. */
export async function insertAfter(trx: Transaction<Schema>, key: AuditKey, prepared: PreparedAuditEvent, head: ChainPosition): Promise<AppendedAuditEvent> {
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
 * never leaves the process. Returns the real head and the key in force there, read under
 * the lock, when the guess (the head or the key) was wrong and nothing was written.
 */
export async function lockAndInsertIfHead(
  trx: Transaction<Schema>,
  sealed: SealedAuditEvent,
  options: { readonly lockId: number; readonly deferFlush: boolean },
): Promise<{ readonly appended: AppendedAuditEvent } | { readonly head: ChainHead }> {
  const { prepared, content: c, hash } = sealed;
  const result = await sql<{ appended: boolean; head_seq: string | number; head_hash: string; head_key_id: string | null }>`
    SELECT appended, head_seq, head_hash, head_key_id FROM audit_append(
      ${options.lockId}::bigint, ${options.deferFlush}::boolean,
      ${c.seq}::bigint, ${c.id}::uuid, ${prepared.occurredAt}::timestamptz, ${c.actor_type}::text, ${c.actor_id}::text, ${c.action}::text, ${c.target_type}::text, ${c.target_id}::text,
      ${c.outcome}::text, ${c.ip}::text, ${c.user_agent}::text, ${c.personal_digest}::text, ${c.network_digest}::text, ${c.request_id}::text,
      ${prepared.detailsText}::jsonb, ${c.key_id}::text, ${c.prev_hash}::text, ${hash}::text)`.execute(trx);
  const row = result.rows[0];
  if (row === undefined) throw new Error('audit_append returned no row');
  if (row.appended) return { appended: { seq: c.seq, id: c.id, hash } };
  return { head: { seq: Number(row.head_seq), hash: row.head_hash, keyId: row.head_key_id } };
}
