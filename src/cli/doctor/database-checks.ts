// The database: reachable, its schema what this build expects, and the serving role no
// stronger than it must be (docs/operations.md "Database roles").
import { sql } from 'kysely';
import type { Database } from '../../core/db/database.ts';
import { isCurrent, migrationStatus, type MigrationStatus } from '../../core/db/migrate.ts';
import { fail, pass, skip, warn, type Check, type Finding } from './types.ts';

export const databaseCheck: Check = {
  name: 'database',
  dependsOn: ['configuration'],
  async run(context) {
    const database = await context.database();
    const rows = await sql<{ version: string }>`SELECT current_setting('server_version') AS version`.execute(database.db);
    const engine = database.engine === 'pglite' ? 'embedded PGlite' : 'PostgreSQL';
    return pass(`reachable (${engine} ${rows.rows[0]?.version ?? ''})`);
  },
};

export function judgeMigrations(status: MigrationStatus): Finding {
  if (status.modified.length > 0) {
    return fail(`applied migrations changed on disk: ${status.modified.join(', ')}`, 'deploy the build that applied them; never edit an applied migration');
  }
  if (status.unknown.length > 0) {
    return fail(`the database has migrations this build does not know: ${status.unknown.join(', ')} (a newer build ran here)`, 'deploy that newer build');
  }
  if (status.pending.length > 0) {
    return warn(`pending migrations: ${status.pending.join(', ')}`, 'run `gatehouse migrate` as the database owner (serve applies them at start only when it is the owner)');
  }
  return pass(`current (${status.applied.length} applied)`);
}

export const migrationsCheck: Check = {
  name: 'migrations',
  dependsOn: ['database'],
  async run(context) {
    const status = await migrationStatus(await context.database());
    return isCurrent(status) ? pass(`current (${status.applied.length} applied)`) : judgeMigrations(status);
  },
};

export interface RoleFacts {
  readonly role: string;
  readonly superuser: boolean;
  /** Tables of the schema this role owns. */
  readonly ownedTables: number;
  /** Table-wide UPDATE, DELETE or TRUNCATE on audit_events (column UPDATE of ip and user_agent is expected). */
  readonly auditWritable: boolean;
}

const LEAST_PRIVILEGE = 'serve as the application role of docs/operations.md "Database roles" (DATABASE_URL for serve; the owner only for migrate, audit prune, keys rotate-master)';

export function judgeRole(facts: RoleFacts): Finding {
  if (facts.superuser) return warn(`connected as ${facts.role}, a superuser: a stolen connection can rewrite the audit trail and read everything`, LEAST_PRIVILEGE);
  if (facts.ownedTables > 0) return warn(`connected as ${facts.role}, which owns ${facts.ownedTables} tables (it can drop triggers and rewrite audit records)`, LEAST_PRIVILEGE);
  if (facts.auditWritable) return warn(`${facts.role} may UPDATE, DELETE or TRUNCATE audit records`, 'run the grants of docs/operations.md "Database roles" again');
  return pass(`${facts.role}: not a superuser, owns no tables, cannot rewrite audit records`);
}

async function readRoleFacts(database: Database): Promise<RoleFacts> {
  const result = await sql<RoleFacts>`
    SELECT current_user AS role,
           (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
           (SELECT count(*)::int FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user) AS "ownedTables",
           CASE WHEN to_regclass('audit_events') IS NULL THEN false
                ELSE has_table_privilege('audit_events', 'UPDATE') OR has_table_privilege('audit_events', 'DELETE')
                  OR has_table_privilege('audit_events', 'TRUNCATE') END AS "auditWritable"`.execute(database.db);
  const row = result.rows[0];
  if (row === undefined) throw new Error('the role query returned nothing');
  return row;
}

export const databaseRoleCheck: Check = {
  name: 'database-role',
  dependsOn: ['migrations'],
  async run(context) {
    const database = await context.database();
    // One embedded user, and nobody else can connect: there is no role to restrict.
    if (database.engine === 'pglite') return skip('embedded PGlite has no roles');
    return judgeRole(await readRoleFacts(database));
  },
};
