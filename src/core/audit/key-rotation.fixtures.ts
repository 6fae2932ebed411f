// Fixtures for audit-key rotation: instances of the server's audit wiring (each with its
// own head cache and key store, as separate processes have) over one database, and a chain
// that was rotated once: records 1-3 under `audit-chain`, the hand-over at 4, 5-7 under
// `audit-chain:2`.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Changes } from '../change.ts';
import { createKeyring, type Keyring } from '../crypto/keyring.ts';
import type { Schema } from '../db/schema.ts';
import { createChainHeadCache } from './append.ts';
import { changesFor, NO_CONTEXT, sampleEvent, steppingClock } from './audit.fixtures.ts';
import { auditKeyInForce, createAuditKeyStore, loadAuditKeyLookup } from './keys.ts';
import { rotateAuditKey, type AuditKeyRotation, type RotationStep } from './rotate-key.ts';
import type { AuditDeps, AuditKeyLookup, ChainHeadCache } from './types.ts';

export function testKeyring(): Keyring {
  return createKeyring([{ id: 'mk1', key: randomBytes(32) }]);
}

export interface TestInstance {
  readonly deps: AuditDeps & { readonly headCache: ChainHeadCache };
  readonly change: Changes;
  /** One audited change recording `sampleEvent(n)`. */
  write(n: number): Promise<void>;
}

/** The audit wiring of one server process (services.ts), started now. */
export async function startInstance(db: Kysely<Schema>, keyring: Keyring): Promise<TestInstance> {
  const key = await auditKeyInForce(db, keyring);
  const store = createAuditKeyStore(keyring, key);
  const deps = { key, clock: steppingClock(), headCache: createChainHeadCache(), loadKey: (trx: Kysely<Schema>, keyId: string) => store.load(trx, keyId) };
  const change = changesFor(db, deps);
  return {
    deps,
    change,
    write: (n) => change(NO_CONTEXT, ({ audit }) => {
      audit(sampleEvent(n));
      return Promise.resolve();
    }),
  };
}

/** `gatehouse keys rotate-audit`, run by a process of its own. */
export async function rotate(db: Kysely<Schema>, keyring: Keyring, pause?: (step: RotationStep) => Promise<void>): Promise<AuditKeyRotation> {
  const rotator = await startInstance(db, keyring);
  return rotateAuditKey({ db, keyring, change: rotator.change }, pause === undefined ? {} : { pause });
}

export function allKeys(db: Kysely<Schema>, keyring: Keyring): Promise<AuditKeyLookup> {
  return loadAuditKeyLookup(db, keyring);
}

/** Records 1-3 under `audit-chain`, the hand-over at 4, records 5-7 under `audit-chain:2`. */
export async function rotatedChain(db: Kysely<Schema>, keyring: Keyring): Promise<TestInstance> {
  const instance = await startInstance(db, keyring);
  for (const n of [1, 2, 3]) await instance.write(n);
  await rotate(db, keyring);
  for (const n of [5, 6, 7]) await instance.write(n);
  return instance;
}

export async function keyIdsBySeq(db: Kysely<Schema>): Promise<string[]> {
  const rows = await db.selectFrom('audit_events').select(['key_id']).orderBy('seq').execute();
  return rows.map((row) => row.key_id);
}
