// Keys: the signing key in use and the one published to follow it, and every stored key
// wrapped under the newest master key (a `keys rotate-master` that stopped part-way
// leaves some under an older one; a master key removed too early leaves some unreadable).
import type { DB } from '../../core/db/database.ts';
import { fail, pass, warn, type Check, type Finding } from './types.ts';

const DAY_MS = 86_400_000;
/**
 * No setting schedules signing-key rotation (it is `gatehouse keys rotate-signing`, by
 * hand or from cron), so the checklist asks for one at least every 90 days: short enough
 * that a key copied without anyone noticing stops working within a season, long enough
 * for a monthly or quarterly routine.
 */
export const SIGNING_KEY_MAX_AGE_DAYS = 90;

export interface SigningKeyFacts {
  readonly active: { readonly kid: string; readonly since: Date } | null;
  readonly nextKid: string | null;
}

export function judgeSigningKeys(facts: SigningKeyFacts, now: Date): Finding {
  const rotate = 'run `gatehouse keys rotate-signing`';
  if (facts.active === null) return warn('no active signing key (serve creates one at its first start)', `start \`gatehouse serve\` once, or ${rotate}`);
  const days = Math.floor((now.getTime() - facts.active.since.getTime()) / DAY_MS);
  if (facts.nextKid === null) return warn(`active key ${facts.active.kid} has no next key published, so relying parties cannot fetch it ahead of the switch`, rotate);
  if (days > SIGNING_KEY_MAX_AGE_DAYS) {
    return warn(`active key ${facts.active.kid} has signed for ${days} days (more than ${SIGNING_KEY_MAX_AGE_DAYS})`, `${rotate} (e.g. monthly from cron)`);
  }
  return pass(`active key ${facts.active.kid} signing for ${days} days (rotate within ${SIGNING_KEY_MAX_AGE_DAYS}); next key ${facts.nextKid} published`);
}

async function readSigningKeyFacts(db: DB): Promise<SigningKeyFacts> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'state', 'created_at', 'activated_at'])
    .where('state', 'in', ['active', 'next'])
    .orderBy('created_at', 'asc')
    .execute();
  const active = rows.find((row) => row.state === 'active');
  return {
    active: active === undefined ? null : { kid: active.kid, since: new Date(active.activated_at ?? active.created_at) },
    nextKid: rows.find((row) => row.state === 'next')?.kid ?? null,
  };
}

export const signingKeysCheck: Check = {
  name: 'signing-keys',
  dependsOn: ['migrations'],
  async run(context) {
    return judgeSigningKeys(await readSigningKeyFacts((await context.database()).db), context.now());
  },
};

export interface WrappedKeyCount {
  readonly masterKeyId: string;
  readonly count: number;
}

export interface KeyWrappingFacts {
  /** The master key ids in the keyring, newest (current) first. */
  readonly keyringIds: readonly string[];
  /** Stored data, system and signing keys, by the master key that wraps them. */
  readonly wrapped: readonly WrappedKeyCount[];
}

function describe(counts: readonly WrappedKeyCount[]): string {
  return counts.map((entry) => `${entry.count} under ${entry.masterKeyId}`).join(', ');
}

export function judgeKeyWrapping(facts: KeyWrappingFacts): Finding {
  const current = facts.keyringIds[0] ?? '';
  const total = facts.wrapped.reduce((sum, entry) => sum + entry.count, 0);
  if (total === 0) return pass('no stored keys yet');
  const lost = facts.wrapped.filter((entry) => !facts.keyringIds.includes(entry.masterKeyId));
  if (lost.length > 0) {
    return fail(
      `stored keys wrapped under master keys the keyring does not hold (${describe(lost)}): what they protect cannot be read`,
      'put those master keys back in GATEHOUSE_MASTER_KEY after the current one, then run `gatehouse keys rotate-master`',
    );
  }
  const stale = facts.wrapped.filter((entry) => entry.masterKeyId !== current);
  if (stale.length > 0) {
    return warn(`a master-key rotation is half done: ${describe(stale)} (current ${current})`, 'run `gatehouse keys rotate-master` (safe while serving, resumable)');
  }
  const unused = facts.keyringIds.slice(1);
  const note = unused.length === 0 ? '' : `; ${unused.join(', ')} no longer wrap anything here (keep them while older backups need them)`;
  return pass(`all ${total} stored keys wrapped under the current master key ${current}${note}`);
}

async function countWrapped(db: DB): Promise<WrappedKeyCount[]> {
  const tables = ['data_keys', 'system_keys', 'signing_keys'] as const;
  const byId = new Map<string, number>();
  for (const table of tables) {
    const rows = await db
      .selectFrom(table)
      .select((eb) => ['master_key_id', eb.fn.countAll<number>().as('count')])
      .groupBy('master_key_id')
      .execute();
    for (const row of rows) byId.set(row.master_key_id, (byId.get(row.master_key_id) ?? 0) + row.count);
  }
  return [...byId].map(([masterKeyId, count]) => ({ masterKeyId, count })).sort((a, b) => a.masterKeyId.localeCompare(b.masterKeyId));
}

export const keyWrappingCheck: Check = {
  name: 'key-wrapping',
  dependsOn: ['migrations', 'master-key'],
  async run(context) {
    const keys = await context.masterKeys();
    return judgeKeyWrapping({ keyringIds: keys.map((key) => key.id), wrapped: await countWrapped((await context.database()).db) });
  },
};
