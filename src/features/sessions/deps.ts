// What the session flows (refresh, logout) and their routes use, and nothing else (built
// in services.ts).
import type { Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { DB } from '../../core/db/database.ts';
import type { BrowserSessions } from '../browser-sessions/index.ts';
import type { AccessTokens } from '../tokens/index.ts';
import type { SessionLifetimes } from './repo.ts';
import type { RefreshRotation } from './successor.ts';

export interface SessionsDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly lifetimes: SessionLifetimes;
  /** Derives refresh-token successors; holds the reuse interval. */
  readonly refreshRotation: RefreshRotation;
  readonly tokens: AccessTokens;
  /** Cookie sessions for browsers (`Gatehouse-Session: cookie`). */
  readonly browserSessions: BrowserSessions;
  /** The one way to write: transaction, jobs, audit records, cache invalidation after commit. */
  readonly change: Changes;
}
