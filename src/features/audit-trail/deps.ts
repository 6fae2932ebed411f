// What the audit-trail routes use, and nothing else (built in services.ts).
import type { Changes } from '../../core/change.ts';
import type { DB } from '../../core/db/database.ts';
import type { Logger } from '../../core/logging.ts';

export interface AuditTrailDeps {
  readonly db: DB;
  readonly log: Logger;
  /** The one way to write: an export and a broken chain are themselves audited. */
  readonly change: Changes;
}
