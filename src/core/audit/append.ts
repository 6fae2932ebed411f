// Appends one record to the chain inside the caller's transaction, so a change and the
// record of it commit or roll back together. Records are numbered without gaps and each
// one seals its predecessor's hash, which requires appends to be strictly serialized: a
// transaction-scoped advisory lock does that, held from the head read to the commit.
// Everything else is prepared before the lock; call this as the last statement before
// commit (core/change.ts does), since whatever runs after it runs inside the serialized
// section.
//
// The serialized section is one round trip before the commit: the record is sealed
// after a guessed head, and one call (`audit_append`, migration 0003) takes the lock,
// checks the guess and inserts. The key stays here, so a wrong guess costs a second
// statement under the lock: the call returns the real head and the record is sealed
// again after it. The guess is the head cache, and this process's appends take turns
// (see `ChainHeadCache`) so that it is right unless another instance appended since.
//
// Key rotation (keys.ts): the key in force is read with the head, under the lock, so every
// instance switches keys at the same record. A process still holding the old key has its
// guess refused like a wrong head, and loads the key in force in the same transaction
// before sealing again (`loadKey`): it never appends under a key rotated out, and its
// caller never sees the switch. The cache then holds the new key. A head under a key older
// than the one held is never followed (AuditKeyDowngradeError): rotations only go forward.
//
// The caller's transaction must be READ COMMITTED (PostgreSQL's default): the head is
// read by a statement started after the lock is granted, so it sees the previous
// holder's commit. Under REPEATABLE READ the head would be stale and the insert would
// fail on the `seq` primary key; the chain can never fork either way.
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from '../db/schema.ts';
import { AuditInputError } from './errors.ts';
import { insertAfter, lockAndInsertIfHead, sealAfter } from './insert.ts';
import { auditKeyVersion, HANDOVER_ACTION, readHandover } from './keys.ts';
import { prepareAuditEvent, type PreparedAuditEvent } from './prepare.ts';
import { GENESIS, type AppendedAuditEvent, type AuditDeps, type AuditEventInput, type AuditKey, type ChainHeadCache } from './types.ts';

// Any fixed 64-bit number shared by every instance, distinct from the migration lock.
export const AUDIT_CHAIN_LOCK_ID = 4_812_903_337_561;

export function createChainHeadCache(): ChainHeadCache {
  return { current: null, key: null, turn: Promise.resolve(), holders: new WeakSet() };
}

/** The chain is in force under a key this process cannot load: nothing is appended. */
export class AuditKeyUnavailableError extends Error {
  override readonly name = 'AuditKeyUnavailableError';
}

/**
 * The chain's head names a key older than one this process already sealed under. A
 * rotation only ever moves to a newer key, so the head was written around it: by someone
 * with write access to the database and the old key (the one that leaked, the reason to
 * rotate). Following it would extend a forged chain under that key; nothing is appended,
 * and `gatehouse audit verify` names the record.
 */
export class AuditKeyDowngradeError extends Error {
  override readonly name = 'AuditKeyDowngradeError';
}

/** Refuses a key in force older than the key held (versions: keys.ts). */
function assertNoDowngrade(held: AuditKey, keyId: string): void {
  const heldVersion = auditKeyVersion(held.id);
  const version = auditKeyVersion(keyId);
  if (heldVersion === null || version === null || version >= heldVersion) return;
  throw new AuditKeyDowngradeError(`the audit chain's head is sealed under key "${keyId}", older than key "${held.id}" this process seals under: nothing is appended (run gatehouse audit verify)`);
}

/** The key to seal under after a head read under the lock: the one held, or the one a rotation put in force. */
async function keyInForce(trx: Transaction<Schema>, deps: AuditDeps, held: AuditKey, keyId: string | null): Promise<AuditKey> {
  if (keyId === null || keyId === held.id) return held;
  assertNoDowngrade(held, keyId);
  const loaded = (await deps.loadKey?.(trx, keyId)) ?? null;
  if (loaded?.id !== keyId) throw new AuditKeyUnavailableError(`the audit chain is in force under key "${keyId}", which this process cannot load`);
  return loaded;
}

/** The key to seal the guess under: the one held, or for a hand-over the key it hands over from. */
async function guessedKey(trx: Transaction<Schema>, deps: AuditDeps, prepared: PreparedAuditEvent, held: AuditKey): Promise<AuditKey> {
  if (prepared.content.action !== HANDOVER_ACTION) return held;
  const key = await keyInForce(trx, deps, held, readHandover(prepared.content.details)?.fromKeyId ?? null);
  assertHandoverFrom(prepared, key);
  return key;
}

/** A hand-over is sealed under the key it hands over from, or not at all (a concurrent rotation got there first). */
function assertHandoverFrom(prepared: PreparedAuditEvent, key: AuditKey): void {
  if (prepared.content.action !== HANDOVER_ACTION) return;
  if (readHandover(prepared.content.details)?.fromKeyId !== key.id) {
    throw new AuditInputError('stale_handover', 'a key hand-over must be sealed under the key it hands over from, which is no longer in force');
  }
}

/** Runs `fn` once the previous caller's `fn` has settled, whether or not it threw. */
async function inTurn<T>(cache: ChainHeadCache, fn: () => Promise<T>): Promise<T> {
  const previous = cache.turn;
  let release = (): void => undefined;
  cache.turn = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    await previous;
    return await fn();
  } finally {
    release();
  }
}

async function lockAndAppend(trx: Transaction<Schema>, deps: AuditDeps, prepared: PreparedAuditEvent, options: { readonly deferFlush: boolean }): Promise<AppendedAuditEvent> {
  const cache = deps.headCache;
  const held = await guessedKey(trx, deps, prepared, cache?.key ?? deps.key);
  const sealed = sealAfter(held, prepared, cache?.current ?? GENESIS);
  const outcome = await lockAndInsertIfHead(trx, sealed, { lockId: AUDIT_CHAIN_LOCK_ID, deferFlush: options.deferFlush });
  cache?.holders.add(trx);
  // Serialized from here to the caller's commit; a wrong guess's real head and key were read under the lock.
  let key = held;
  let appended: AppendedAuditEvent;
  if ('appended' in outcome) {
    appended = outcome.appended;
  } else {
    key = await keyInForce(trx, deps, held, outcome.head.keyId ?? null);
    assertHandoverFrom(prepared, key);
    appended = await insertAfter(trx, key, prepared, outcome.head);
  }
  if (cache !== undefined) {
    cache.current = { seq: appended.seq, hash: appended.hash };
    cache.key = key;
  }
  return appended;
}

async function append(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput, options: { readonly deferFlush: boolean }): Promise<AppendedAuditEvent> {
  // The type already demands a transaction; this also stops a cast or a JavaScript caller.
  const session: Kysely<Schema> = trx;
  if (!session.isTransaction) throw new AuditInputError('not_in_transaction', 'an audit record must be appended inside the transaction of the change it records');
  const prepared = prepareAuditEvent(deps, event);
  const cache = deps.headCache;
  // A transaction appending again already holds the lock: waiting for a turn behind an
  // append that waits for that lock would never end.
  if (cache === undefined || cache.holders.has(trx)) return lockAndAppend(trx, deps, prepared, options);
  return inTurn(cache, () => lockAndAppend(trx, deps, prepared, options));
}

export async function appendAuditEvent(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput): Promise<AppendedAuditEvent> {
  return append(trx, deps, event, { deferFlush: false });
}

/**
 * For core/change.ts only: appends, and lets the transaction commit without waiting for
 * the WAL flush (`SET LOCAL synchronous_commit = off`, in the same statement as the
 * lock). The caller must flush after the commit and before reporting success.
 */
export async function appendAuditEventFlushingLater(trx: Transaction<Schema>, deps: AuditDeps, event: AuditEventInput): Promise<AppendedAuditEvent> {
  return append(trx, deps, event, { deferFlush: true });
}
