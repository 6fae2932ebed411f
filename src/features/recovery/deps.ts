// What password recovery, its job and its routes use, and nothing else (built in
// services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { PasswordPolicy } from '../../core/password/policy.ts';
import type { AccountJobs } from '../auth/index.ts';
import type { Lockout } from '../lockout/index.ts';
import type { OutgoingMail } from '../mail/index.ts';

export interface RecoveryDeps {
  readonly db: DB;
  readonly clock: Clock;
  /** Where the mailed links point. */
  readonly publicURL: string;
  readonly keyring: Keyring;
  readonly blindIndex: BlindIndex;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  /** A completed reset lifts the account's lockout. */
  readonly lockout: Lockout;
  /** Mail as a job of the change that causes it. */
  readonly mail: OutgoingMail;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** The reset-request job, committed before the 202. */
  readonly accountJobs: AccountJobs;
}
