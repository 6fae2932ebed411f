// The account services as services.ts builds them: one object that structurally
// satisfies every flow's and module's own deps (LoginDeps, RegistrationDeps,
// VerificationDeps, RecoveryDeps, SettingsDeps, SessionsDeps, AdminUserDeps,
// AdminRoleDeps, AuditTrailDeps, CreateAccountDeps). No flow takes this type: each
// declares the few fields it uses, and app.ts hands each plugin this object.
import type { Changes } from './core/change.ts';
import type { Clock } from './core/clock.ts';
import type { BlindIndex } from './core/crypto/blind-index.ts';
import type { Keyring } from './core/crypto/keyring.ts';
import type { DB } from './core/db/database.ts';
import type { Logger } from './core/logging.ts';
import type { PasswordHasher } from './core/password/hash.ts';
import type { PasswordPolicy } from './core/password/policy.ts';
import type { AccountJobs, DeviceTokens, SessionGate } from './features/auth/index.ts';
import type { BrowserSessions } from './features/browser-sessions/index.ts';
import type { Authorizer } from './features/authorization/index.ts';
import type { Lockout } from './features/lockout/index.ts';
import type { OutgoingMail } from './features/mail/index.ts';
import type { PasskeyAssertionOptions, PasskeyReauthentication, PasskeySecondFactor, SecondFactorRequirement } from './features/mfa/index.ts';
import type { Passkeys } from './features/passkeys/index.ts';
import type { RefreshRotation, SessionLifetimes } from './features/sessions/index.ts';
import type { AccessTokens } from './features/tokens/index.ts';
import type { ProfileCache } from './features/users/index.ts';
import type { IncidentFlags } from './features/incident/index.ts';

export interface AccountServices {
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
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** The account work done after the response, as durable jobs. */
  readonly accountJobs: AccountJobs;
  /** Known-device tokens: each device's own lockout counter. */
  readonly deviceTokens: DeviceTokens;
  /** MFA_REQUIRED_ROLES: who must have a second factor, and whether they do. */
  readonly secondFactorRequirement: SecondFactorRequirement;
  /** WebAuthn ceremonies and the account's passkeys. */
  readonly passkeys: Passkeys;
  readonly passkeySecondFactor: PasskeySecondFactor;
  readonly passkeyAssertionOptions: PasskeyAssertionOptions;
  readonly passkeyReauthentication: PasskeyReauthentication;
  /** Cookie sessions for browsers: the cookies, and their origin and CSRF checks. */
  readonly browserSessions: BrowserSessions;
  /** The containment switches (maintenance, registration frozen), shared by every instance. */
  readonly incidentFlags: IncidentFlags;
  /** REAUTH_MAX_AGE, in seconds. */
  readonly reauthMaxAge: number;
}
