// Whom a containment command acts on: everyone, the holders of one role, or one user.
// Exactly one must be named, on the command line (--all | --role R | --user ID) and in the
// admin API alike: an operator under pressure who types two of them, or none, is told so
// rather than guessed at.
import { ROLE_NAME_PATTERN } from '../authorization/index.ts';

export type ContainmentScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'role'; readonly role: string }
  | { readonly kind: 'user'; readonly userId: string };

/** A scope that is not exactly one well-formed choice; the message is for the operator. */
export class ScopeError extends Error {
  override readonly name = 'ScopeError';
}

// eslint-disable-next-line security/detect-non-literal-regexp -- the catalog's constant pattern, never input
const ROLE_NAME = new RegExp(ROLE_NAME_PATTERN);
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ScopeOptions {
  readonly all?: boolean | undefined;
  readonly role?: string | undefined;
  readonly user?: string | undefined;
}

/** The scope the options name; throws ScopeError unless exactly one of all, role, user is given. */
export function parseScope(options: ScopeOptions): ContainmentScope {
  const given = [options.all === true, options.role !== undefined, options.user !== undefined].filter(Boolean).length;
  if (given !== 1) throw new ScopeError('name exactly one of --all, --role ROLE, --user USER_ID');
  if (options.role !== undefined) {
    if (!ROLE_NAME.test(options.role)) throw new ScopeError('--role takes a role name (lower case letters, digits, _ and -)');
    return { kind: 'role', role: options.role };
  }
  if (options.user !== undefined) {
    const userId = options.user.toLowerCase();
    if (!USER_ID.test(userId)) throw new ScopeError('--user takes a user id (a UUID)');
    return { kind: 'user', userId };
  }
  return { kind: 'all' };
}

/** For audit details and messages: `all`, `role admin`, `user <id>`. */
export function describeScope(scope: ContainmentScope): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'role':
      return `role ${scope.role}`;
    case 'user':
      return `user ${scope.userId}`;
  }
}

/** The scope as audit details: the kind, and the role or user it names. */
export function scopeDetails(scope: ContainmentScope): Record<string, string> {
  switch (scope.kind) {
    case 'all':
      return { scope: 'all' };
    case 'role':
      return { scope: 'role', role: scope.role };
    case 'user':
      return { scope: 'user', user_id: scope.userId };
  }
}
