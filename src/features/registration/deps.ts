// What registration, its job and its route use, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { PasswordPolicy } from '../../core/password/policy.ts';
import type { AccountJobs } from '../auth/index.ts';
import type { OutgoingMail } from '../mail/index.ts';
import type { IncidentFlags } from '../incident/index.ts';

export interface RegistrationDeps {
  readonly clock: Clock;
  /** Where the mailed links point. */
  readonly publicURL: string;
  readonly keyring: Keyring;
  readonly blindIndex: BlindIndex;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  /** Mail as a job of the change that causes it. */
  readonly mail: OutgoingMail;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
  /** The registration job, committed before the 202. */
  readonly accountJobs: AccountJobs;
  /** Registration frozen during an incident (features/incident). */
  readonly incidentFlags: Pick<IncidentFlags, 'registrationFrozen'>;
}
