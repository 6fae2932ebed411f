// What the MFA flow (enrolment, the login's second step, re-authentication's second
// factor) uses, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { AccountJobs, DeviceTokens } from '../auth/index.ts';
import type { Lockout } from '../lockout/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { SessionLifetimes } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';
import type { PasskeyAssertionOptions, PasskeyReauthentication, PasskeySecondFactor } from './second-factor.ts';
import type { IncidentFlags } from '../incident/index.ts';

export interface MfaDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly keyring: Keyring;
  /** The issuer name shown by authenticator apps: PUBLIC_URL's host. */
  readonly publicURL: string;
  readonly lockout: Lockout;
  readonly accountJobs: Pick<AccountJobs, 'lockNotice'>;
  readonly lifetimes: SessionLifetimes;
  readonly tokens: AccessTokens;
  readonly deviceTokens: DeviceTokens;
  readonly mail: OutgoingMail;
  /** Verifies a passkey assertion as a second factor (passkeys feature). */
  readonly passkeySecondFactor: PasskeySecondFactor;
  /** Issues the assertion options (and their single-use challenge) for a second step. */
  readonly passkeyAssertionOptions: PasskeyAssertionOptions;
  /** Verifies a passkey alone for re-authentication of the signed-in user. */
  readonly passkeyReauthentication: PasskeyReauthentication;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** Maintenance mode: who may open a session while it is on (features/incident). */
  readonly incidentFlags: Pick<IncidentFlags, 'maintenance'>;
}
