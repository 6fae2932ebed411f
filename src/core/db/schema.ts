// The typed shape of every table, for Kysely. Migrations in /migrations are the truth;
// this file mirrors them and features add their tables here.
import type { ColumnType, Generated } from 'kysely';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Timestamp>;
}

export interface SystemKeysTable {
  id: string;
  purpose: string;
  master_key_id: string;
  wrapped_key: string;
  created_at: Generated<Timestamp>;
}

export interface DataKeysTable {
  owner_id: string;
  master_key_id: string;
  wrapped_key: string;
  created_at: Generated<Timestamp>;
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEventsTable {
  seq: number;
  id: string;
  occurred_at: Timestamp;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  key_id: string;
  prev_hash: string;
  hash: string;
}

export interface Schema {
  schema_migrations: SchemaMigrationsTable;
  system_keys: SystemKeysTable;
  data_keys: DataKeysTable;
  audit_events: AuditEventsTable;
}
