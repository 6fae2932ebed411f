// Whether an administrator sees an account as locked: its own password counter or its own
// second-factor counter holds a lock in force, the two counters an unlock lifts
// (users-service.ts). A device's counter locks that device only, not the account.
import { passwordCounter, secondFactorCounter } from '../auth/index.ts';
import type { Lockout } from '../lockout/index.ts';

export interface LockableAccount {
  readonly id: string;
  readonly emailIndex: string;
}

/** The accounts among `accounts` that are locked now, by id, with the end of the later lock. */
export async function accountLocks(lockout: Lockout, accounts: readonly LockableAccount[]): Promise<Map<string, Date>> {
  const counters = accounts.map((account) => ({ id: account.id, subjects: [passwordCounter(account.emailIndex, null), secondFactorCounter(account.id, null)] }));
  const locks = await lockout.activeLocks(counters.flatMap((counter) => counter.subjects));
  const ends = new Map<string, Date>();
  for (const { id, subjects } of counters) {
    for (const subject of subjects) {
      const end = locks.get(subject);
      const known = ends.get(id);
      if (end !== undefined && (known === undefined || end > known)) ends.set(id, end);
    }
  }
  return ends;
}
