// Test fixtures for the audit trail: fresh keys, a stepping clock, and a way to act as a
// superuser who bypasses the append-only triggers, which is the attacker the chain is for.
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach } from 'node:test';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { TestDatabase, TestEngine } from '../../../test/helpers/database.ts';
import type { Database } from '../db/database.ts';
import type { Schema } from '../db/schema.ts';
import { createCacheInvalidation } from '../cache.ts';
import { createChanges, type Changes } from '../change.ts';
import { appendAuditEvent } from './append.ts';
import { createAuditor, type RequestContext } from './auditor.ts';
import { HANDOVER_ACTION, handoverDetails } from './keys.ts';
import type { AppendedAuditEvent, AuditDeps, AuditEventInput, AuditKey, AuditKeyLookup } from './types.ts';

export function generateAuditKey(id = 'audit-test'): AuditKey {
  return { id, key: randomBytes(32) };
}

export function keyLookup(...keys: AuditKey[]): AuditKeyLookup {
  return (keyId) => keys.find((key) => key.id === keyId)?.key ?? null;
}

/** A clock that moves 1.5 ms per reading, so records get distinct, ordered times. */
export function steppingClock(start = Date.UTC(2030, 0, 2, 3, 4, 5, 6)): () => Date {
  let now = start;
  return () => new Date((now += 1.5));
}

export function testDeps(key: AuditKey = generateAuditKey()): AuditDeps {
  return { key, clock: steppingClock() };
}

export function sampleEvent(n: number): AuditEventInput {
  return {
    actor: { type: 'user', id: `user-${n}` },
    action: 'session.create',
    target: { type: 'session', id: `session-${n}` },
    outcome: n % 3 === 0 ? 'failure' : 'success',
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (test)',
    requestId: `req-${n}`,
    details: { n, method: 'passkey', nested: { list: [1, 'two', null, true], émoji: '🔐' } },
  };
}

/** The hand-over record from `from` to `to`, as `gatehouse keys rotate-audit` appends it. */
export function handoverEvent(from: AuditKey, to: AuditKey): AuditEventInput {
  return { actor: { type: 'system', id: 'cli' }, action: HANDOVER_ACTION, target: { type: 'audit_key', id: to.id }, outcome: 'success', details: handoverDetails(from, to) };
}

export async function appendOne(db: Kysely<Schema>, deps: AuditDeps, event: AuditEventInput): Promise<AppendedAuditEvent> {
  return db.transaction().execute((trx) => appendAuditEvent(trx, deps, event));
}

export async function appendMany(db: Kysely<Schema>, deps: AuditDeps, count: number): Promise<AppendedAuditEvent[]> {
  const appended: AppendedAuditEvent[] = [];
  for (let n = 1; n <= count; n += 1) appended.push(await appendOne(db, deps, sampleEvent(n)));
  return appended;
}

/**
 * Runs `fn` as a superuser who switched the append-only triggers off for this one
 * transaction: on PostgreSQL by `session_replication_role = replica` (user triggers do
 * not fire), on PGlite by disabling them, both undone when the transaction ends.
 */
export async function asTriggerBypassingSuperuser(database: Database, fn: (trx: Transaction<Schema>) => Promise<void>): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    if (database.engine === 'postgres') {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await fn(trx);
      return;
    }
    await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(trx);
    await sql`ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`.execute(trx);
    await fn(trx);
    await sql`ALTER TABLE audit_checkpoints ENABLE TRIGGER USER`.execute(trx);
    await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
  });
}

/** A stand-in transaction that counts and refuses any use: proves a refusal came before the database. */
export function untouchableTransaction(): { readonly trx: Transaction<Schema>; readonly touches: () => number } {
  let touches = 0;
  const trx = new Proxy(
    {},
    {
      get(_target, property) {
        if (property === 'isTransaction') return true;
        touches += 1;
        throw new Error('the database was touched');
      },
    },
  ) as unknown as Transaction<Schema>;
  return { trx, touches: () => touches };
}

/**
 * One database per suite (opening PGlite takes seconds), emptied before each test by
 * the same trigger bypass an attacker would use, so every test starts a new chain.
 */
export function freshTrailPerTest(engine: TestEngine): () => Database {
  let test: TestDatabase | undefined;
  const database = (): Database => {
    if (test === undefined) throw new Error('the test database is not open');
    return test.database;
  };
  before(async () => {
    test = await engine.open();
  });
  after(async () => {
    await test?.cleanup();
  });
  beforeEach(async () => {
    await asTriggerBypassingSuperuser(database(), async (trx) => {
      await trx.deleteFrom('audit_events').execute();
      await trx.deleteFrom('audit_checkpoints').execute();
      await trx.deleteFrom('system_keys').execute();
    });
  });
  return database;
}

/** The one change helper (core/change.ts) over these audit deps, as the server builds it. */
export function changesFor(db: Kysely<Schema>, deps: AuditDeps): Changes {
  return createChanges({ db, audit: createAuditor(deps), invalidation: createCacheInvalidation() });
}

export const NO_CONTEXT: RequestContext = { ip: null, userAgent: null, requestId: null };
