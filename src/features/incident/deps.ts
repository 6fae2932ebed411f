// What the containment commands and their admin route use, and nothing else (built in
// services.ts; the CLI builds the same services).
import type { RequestContext } from '../../core/audit/auditor.ts';
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { Authorizer } from '../authorization/index.ts';
import type { OutgoingMail } from '../mail/index.ts';

export interface IncidentDeps {
  readonly db: DB;
  readonly clock: Clock;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit (and its broadcast). */
  readonly change: Changes;
  /** Who may act on whom, for the admin route's single-user scope. */
  readonly authorizer: Authorizer;
  /** Reads each user's address for the reset mail (`--notify`). */
  readonly keyring: Keyring;
  /** The reset mail, as a durable job of the change that forces the reset. */
  readonly mail: OutgoingMail;
  /** Where the mailed links point. */
  readonly publicURL: string;
}

/** Who runs a containment command: an administrator through the API, or the operator's CLI. */
export interface ContainmentActor {
  readonly actor: { readonly type: 'user' | 'system'; readonly id: string };
  readonly context: RequestContext;
}
