// The administrator's view of users: a page of rows in id order (ids are UUIDv7, so
// that is creation order), each decrypted under its own data key.
import { decryptField, loadDataKey } from '../../core/crypto/envelope.ts';
import type { Keyring } from '../../core/crypto/keyring.ts';
import type { DB } from '../../core/db/database.ts';

export interface AdminUserView {
  readonly id: string;
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
  /** Blind index of an exact email address. */
  readonly emailIndex?: string;
  readonly status?: 'active' | 'disabled';
  /** Return users with ids after this one. */
  readonly after?: string;
  readonly limit: number;
}

const COLUMNS = ['id', 'email_ciphertext', 'name_ciphertext', 'email_verified_at', 'status', 'created_at', 'updated_at'] as const;

type Row = {
  id: string;
  email_ciphertext: string;
  name_ciphertext: string | null;
  email_verified_at: Date | null;
  status: 'active' | 'disabled';
  created_at: Date;
  updated_at: Date;
};

async function rolesByUser(db: DB, ids: readonly string[]): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byUser;
  const rows = await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).orderBy('role').execute();
  for (const row of rows) byUser.get(row.user_id)?.push(row.role);
  return byUser;
}

async function decryptRow(db: DB, keyring: Keyring, row: Row, roles: string[]): Promise<AdminUserView> {
  const dek = await loadDataKey(db, keyring, row.id);
  try {
    return {
      id: row.id,
      email: dek === null ? null : decryptField(dek, { table: 'users', column: 'email', rowId: row.id }, row.email_ciphertext),
      name: dek === null || row.name_ciphertext === null ? null : decryptField(dek, { table: 'users', column: 'name', rowId: row.id }, row.name_ciphertext),
      emailVerified: row.email_verified_at !== null,
      status: row.status,
      roles,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  } finally {
    dek?.fill(0);
  }
}

export async function findAdminUserView(db: DB, keyring: Keyring, id: string): Promise<AdminUserView | null> {
  const row = await db.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  if (row === undefined) return null;
  const roles = await rolesByUser(db, [id]);
  return decryptRow(db, keyring, row, roles.get(id) ?? []);
}

/** One page, plus whether more rows follow. */
export async function listAdminUserViews(db: DB, keyring: Keyring, query: UserPageQuery): Promise<{ users: AdminUserView[]; more: boolean }> {
  let select = db.selectFrom('users').select(COLUMNS).orderBy('id').limit(query.limit + 1);
  if (query.emailIndex !== undefined) select = select.where('email_index', '=', query.emailIndex);
  if (query.status !== undefined) select = select.where('status', '=', query.status);
  if (query.after !== undefined) select = select.where('id', '>', query.after);
  const rows = await select.execute();
  const page = rows.slice(0, query.limit);
  const roles = await rolesByUser(db, page.map((row) => row.id));
  const users: AdminUserView[] = [];
  for (const row of page) users.push(await decryptRow(db, keyring, row, roles.get(row.id) ?? []));
  return { users, more: rows.length > query.limit };
}
