// What login and its route use, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import type { DB } from '../../core/db/database.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { Lockout } from '../lockout/index.ts';
import type { AccountJobs, DeviceTokens } from '../auth/index.ts';
import type { BrowserSessions } from '../browser-sessions/index.ts';
import type { MfaDeps } from '../mfa/index.ts';
import type { SessionLifetimes } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';

export interface LoginDeps extends MfaDeps {
  /** Cookie sessions for browsers (`Gatehouse-Session: cookie`). */
  readonly browserSessions: BrowserSessions;
  readonly db: DB;
  readonly clock: Clock;
  readonly blindIndex: BlindIndex;
  readonly passwords: PasswordHasher;
  readonly lockout: Lockout;
  /** The owner's notice when a lock starts, as a job. */
  readonly accountJobs: Pick<AccountJobs, 'lockNotice'>;
  readonly lifetimes: SessionLifetimes;
  readonly tokens: AccessTokens;
  /** Known-device tokens: each device's own lockout counter. */
  readonly deviceTokens: DeviceTokens;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
}
