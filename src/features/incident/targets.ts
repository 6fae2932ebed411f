// A scope names something that exists: a role of that name, a user of that id. Checked
// before anything changes, so a typo is an error and not "0 affected".
import type { DB } from '../../core/db/database.ts';
import { AppError } from '../../core/errors.ts';
import { findRole } from '../authorization/index.ts';
import { findUserById } from '../users/index.ts';
import type { SessionOwners } from '../sessions/index.ts';
import type { ContainmentScope } from './scope.ts';

export async function assertScopeExists(db: DB, scope: ContainmentScope): Promise<void> {
  if (scope.kind === 'role' && (await findRole(db, scope.role)) === null) throw new AppError('not_found', { detail: `no role named ${scope.role}` });
  if (scope.kind === 'user' && (await findUserById(db, scope.userId)) === null) throw new AppError('not_found', { detail: 'no such user' });
}

/** The sessions' owners a scope names. */
export function sessionOwners(scope: ContainmentScope): SessionOwners {
  switch (scope.kind) {
    case 'all':
      return { kind: 'all' };
    case 'role':
      return { kind: 'role', role: scope.role };
    case 'user':
      return { kind: 'users', ids: [scope.userId] };
  }
}
