// What the passkey routes use, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { DeviceTokens } from '../auth/index.ts';
import type { BrowserSessions } from '../browser-sessions/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { SessionLifetimes } from '../sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';
import type { Passkeys } from './service.ts';
import type { IncidentFlags } from '../incident/index.ts';

export interface PasskeyRouteDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly passkeys: Passkeys;
  readonly mail: OutgoingMail;
  readonly lifetimes: SessionLifetimes;
  readonly tokens: AccessTokens;
  readonly deviceTokens: DeviceTokens;
  /** Cookie sessions for browsers (`Gatehouse-Session: cookie`). */
  readonly browserSessions: BrowserSessions;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** Maintenance mode: who may open a session while it is on (features/incident). */
  readonly incidentFlags: Pick<IncidentFlags, 'maintenance'>;
}
