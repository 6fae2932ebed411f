// What the administration routes and services use, and nothing else (built in
// services.ts): user administration creates accounts (users' CreateAccountDeps) and
// more; role administration needs only the database, the authorizer and the change helper.
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { Lockout } from '../lockout/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { CreateAccountDeps } from '../users/index.ts';

export interface AdminRoleDeps {
  readonly db: DB;
  readonly clock: Clock;
  /** Current permissions of a user, from their roles in the database. */
  readonly authorizer: Authorizer;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
}

export interface AdminUserDeps extends AdminRoleDeps, CreateAccountDeps {
  /** An administrator lifts a user's lockout. */
  readonly lockout: Lockout;
  /** Invitations and reset links, as jobs of the change that causes them. */
  readonly mail: OutgoingMail;
  /** Where the mailed links point. */
  readonly publicURL: string;
  /** Reads the user's address for the notices (to mail them). */
  readonly keyring: Keyring;
}
