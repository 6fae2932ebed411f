// Creating an account on someone's authority rather than by self-registration: the
// `users create` CLI, the admin API and the bootstrap admin. The password policy
// applies as at registration, every named role must exist, and the account and its
// audit record are written in one change (core/change.ts).
import type { Transaction } from 'kysely';
import type { AuditEvent, RequestContext } from '../../core/audit/auditor.ts';
import type { Change, Changes } from '../../core/change.ts';
import type { Clock } from '../../core/clock.ts';
import type { BlindIndex } from '../../core/crypto/blind-index.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import type { Schema } from '../../core/db/schema.ts';
import type { PasswordHasher } from '../../core/password/hash.ts';
import type { PasswordPolicy, PasswordPolicyResult } from '../../core/password/policy.ts';
import { DEFAULT_ROLE, insertUser } from './repo.ts';

/** What creating an account uses: the policy and hasher for its password, the change helper to write it. */
export interface CreateAccountDeps {
  readonly db: DB;
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly blindIndex: BlindIndex;
  readonly passwords: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly change: Changes;
}

export interface NewAccount {
  readonly email: string;
  readonly name: string | null;
  /** Null: no password yet (an invited user sets it through a one-time link). */
  readonly password: string | null;
  readonly roles: readonly string[];
  readonly emailVerified: boolean;
}

export type CreateAccountResult =
  | { readonly kind: 'created'; readonly id: string; readonly roles: readonly string[] }
  | { readonly kind: 'weak_password'; readonly verdict: Extract<PasswordPolicyResult, { ok: false }> }
  | { readonly kind: 'unknown_role'; readonly role: string }
  | { readonly kind: 'email_taken' };

export async function createAccount(
  deps: CreateAccountDeps,
  input: NewAccount,
  audit: { readonly actor: AuditEvent['actor']; readonly context: RequestContext },
  options: {
    /** Runs first inside the creating transaction (the admin API's escalation check), so it sees the roles as they commit. */
    readonly authorizeRoles?: (trx: Transaction<Schema>, roles: readonly string[]) => Promise<void>;
    /** Runs last inside the creating change (the admin API's invitation), so it commits with the account. */
    readonly onCreated?: (change: Change, id: string) => Promise<void>;
  } = {},
): Promise<CreateAccountResult> {
  const verdict = input.password === null ? null : await deps.policy.check(input.password, { email: input.email, name: input.name });
  if (verdict !== null && !verdict.ok) return { kind: 'weak_password', verdict };
  const roles = [...new Set([DEFAULT_ROLE, ...input.roles])];
  const known = await deps.db.selectFrom('roles').select('name').where('name', 'in', roles).execute();
  const unknown = roles.find((role) => !known.some((row) => row.name === role));
  if (unknown !== undefined) return { kind: 'unknown_role', role: unknown };
  const passwordHash = input.password === null ? null : await deps.passwords.hash(input.password);
  const now = deps.clock();
  const id = await deps.change(audit.context, async (change) => {
    const { trx } = change;
    await options.authorizeRoles?.(trx, roles);
    const created = await insertUser(trx, deps, { email: input.email, name: input.name, passwordHash, emailVerified: input.emailVerified, roles, now });
    if (created !== null) {
      change.audit({
        actor: audit.actor,
        action: 'user.created',
        target: { type: 'user', id: created },
        outcome: 'success',
        details: { roles },
      });
      await options.onCreated?.(change, created);
    }
    return created;
  });
  return id === null ? { kind: 'email_taken' } : { kind: 'created', id, roles };
}
