// Everything the account flows need, passed in one typed object (built in runtime.ts).
import type { Auditor } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { Logger } from '../../core/logging.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { PasswordPolicy } from '../../core/password/policy.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { Lockout } from '../lockout/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { SessionLifetimes } from '../sessions/index.ts';
import type { RefreshRotation } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';
import type { ProfileCache } from '../users/index.ts';
import type { AccountJobs } from './account-jobs.ts';
import type { SessionGate } from './session-gate.ts';

export interface AuthDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly log: Logger;
  readonly publicURL: string;
  readonly keyring: Keyring;
  readonly blindIndex: BlindIndex;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly tokens: AccessTokens;
  readonly sessionGate: SessionGate;
  /** Current permissions of a user, from their roles in the database. */
  readonly authorizer: Authorizer;
  /** Decrypted profiles for GET /v1/me, ≤ 1 s old; writers of profile fields call `forget`. */
  readonly profiles: ProfileCache;
  readonly lifetimes: SessionLifetimes;
  /** Derives refresh-token successors; holds the reuse interval. */
  readonly refreshRotation: RefreshRotation;
  readonly lockout: Lockout;
  /** Mail as a job of the change that causes it. */
  readonly mail: OutgoingMail;
  readonly audit: Auditor;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** The account work done after the response, as durable jobs. */
  readonly accountJobs: AccountJobs;
}
