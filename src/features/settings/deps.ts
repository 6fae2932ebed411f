// What the settings flow (/v1/me: profile, password change, own sessions) and its routes
// use, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { PasswordPolicy } from '../../core/password/policy.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { Lockout } from '../lockout/index.ts';
import type { AccountJobs } from '../auth/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { ProfileCache } from '../users/index.ts';

export interface SettingsDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  /** The current password is a guess like a login's: the account's lockout applies. */
  readonly lockout: Lockout;
  /** The caller's current permissions, shown with the profile so a client knows what to offer. */
  readonly authorizer: Authorizer;
  /** Decrypted profiles for GET /v1/me, ≤ 1 s old; writers of profile fields call `forget`. */
  readonly profiles: ProfileCache;
  /** Mail as a job of the change that causes it. */
  readonly mail: OutgoingMail;
  /** The owner's notice when a wrong current password starts a lock, as a job. */
  readonly accountJobs: Pick<AccountJobs, 'lockNotice'>;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
}
