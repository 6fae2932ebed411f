// The administrator's view of users: a page of rows in id order (ids are UUIDv7, so
// that is creation order), each decrypted under its own data key. One query per page:
// the wrapped data keys and the roles come with the rows.
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';
import { decryptContact, rolesColumn } from '../users/index.ts';

export interface AdminUserView {
  readonly id: string;
  /** For the account's lockout counters (account-locks.ts); never sent. */
  readonly emailIndex: string;
  /** Null when the user's data key is gone (shredded). */
  readonly email: string | null;
  readonly name: string | null;
  readonly emailVerified: boolean;
  readonly status: 'active' | 'disabled';
  readonly roles: string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface UserPageQuery {
  /** The candidate blind indexes of an exact email address (both keys while a rotation moves rows). */
  readonly emailIndexes?: readonly string[];
  readonly status?: 'active' | 'disabled';
  /** Return users with ids after this one. */
  readonly after?: string;
  readonly limit: number;
}

function selectViews(db: DB) {
  return db
    .selectFrom('users')
    .leftJoin('data_keys', 'data_keys.owner_id', 'users.id')
    .select((eb) => [
      'users.id',
      'users.email_index',
      'users.email_ciphertext',
      'users.name_ciphertext',
      'users.email_verified_at',
      'users.status',
      'users.created_at',
      'users.updated_at',
      'data_keys.wrapped_key',
      rolesColumn(eb),
    ]);
}

type ViewRow = Awaited<ReturnType<ReturnType<typeof selectViews>['executeTakeFirstOrThrow']>>;

function toView(keyring: Keyring, row: ViewRow): AdminUserView {
  const contact = decryptContact(keyring, row);
  return {
    id: row.id,
    emailIndex: row.email_index,
    email: contact?.email ?? null,
    name: contact?.name ?? null,
    emailVerified: row.email_verified_at !== null,
    status: row.status,
    roles: row.roles.map((entry) => entry.role),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findAdminUserView(db: DB, keyring: Keyring, id: string): Promise<AdminUserView | null> {
  const row = await selectViews(db).where('users.id', '=', id).executeTakeFirst();
  return row === undefined ? null : toView(keyring, row);
}

/** One page, plus whether more rows follow. */
export async function listAdminUserViews(db: DB, keyring: Keyring, query: UserPageQuery): Promise<{ users: AdminUserView[]; more: boolean }> {
  let select = selectViews(db).orderBy('users.id').limit(query.limit + 1);
  if (query.emailIndexes !== undefined) select = select.where('users.email_index', 'in', query.emailIndexes);
  if (query.status !== undefined) select = select.where('users.status', '=', query.status);
  if (query.after !== undefined) select = select.where('users.id', '>', query.after);
  const rows = await select.execute();
  return { users: rows.slice(0, query.limit).map((row) => toView(keyring, row)), more: rows.length > query.limit };
}
