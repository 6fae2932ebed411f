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
  /** When this key (this key_id) was created: a rotation resets it. */
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** One version of the owner's key; a rotation replaces it (migration 0024). */
  key_id: Generated<string>;
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
  /** HMAC of (id, ip, user_agent), which the hash covers instead of them (migration 0017); null on older records. */
  personal_digest: ColumnType<string | null, string | null | undefined, string | null>;
  /** HMAC of (id, the network of ip): what a cut address must match (migration 0017). */
  network_digest: ColumnType<string | null, string | null | undefined, string | null>;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  key_id: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  id: string;
  through_seq: number;
  through_hash: string;
  record_count: number;
  created_at: Timestamp;
  key_id: string;
  /** The key in force after `through_seq` (migration 0025); null on older checkpoints. */
  next_key_id: ColumnType<string | null, string | null | undefined, string | null>;
  signature: string;
}

export interface UsersTable {
  id: string;
  email_index: string;
  /** The blind-index key email_index was computed under (migrations/0023). */
  email_index_key: Generated<string>;
  email_ciphertext: string;
  name_ciphertext: string | null;
  password_hash: string | null;
  email_verified_at: Timestamp | null;
  status: Generated<'active' | 'disabled'>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Set by `gatehouse incident force-password-reset`; a completed reset clears it (migration 0021). */
  password_reset_required_at: Timestamp | null;
}

export interface BlindIndexRotationTable {
  id: number;
  current_key_id: string;
  previous_key_id: string | null;
  phase: 'announced' | 'moving' | 'done';
  cursor: string | null;
  /** bigint: a string from node-postgres. */
  moved: Generated<string | number | bigint>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface UserRolesTable {
  user_id: string;
  role: string;
  granted_at: Timestamp;
}

export interface RolesTable {
  name: string;
  description: string;
  built_in: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolePermissionsTable {
  role: string;
  permission: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Timestamp;
  last_used_at: Timestamp;
  idle_expires_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
  /** The client's address, sealed under the owner's data key (features/sessions/device.ts; migration 0020). */
  ip_sealed: string | null;
  user_agent_sealed: string | null;
  /** When IP_RETENTION_DAYS cut the address to its network and removed the user agent. */
  device_minimized_at: Timestamp | null;
  auth_method: string;
  /** RFC 8176 method references (migration 0013). */
  amr: ColumnType<string[], string[] | undefined, string[]>;
  /** When the user last proved who they are: login or re-authentication. */
  auth_time: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

export type OneTimeTokenPurpose = 'verify_email' | 'password_reset' | 'cancel_deletion';

export interface OneTimeTokensTable {
  token_hash: string;
  purpose: OneTimeTokenPurpose;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** `revoked` is final (migration 0022): a key withdrawn at once, never published or trusted again. */
export type SigningKeyState = 'next' | 'active' | 'retired' | 'revoked';

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  master_key_id: string;
  wrapped_private_key: string;
  state: SigningKeyState;
  created_at: Timestamp;
  activated_at: Timestamp | null;
  retired_at: Timestamp | null;
  publish_until: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface LoginFailuresTable {
  subject: string;
  failures: number;
  lock_count: number;
  locked_until: Timestamp | null;
  updated_at: Timestamp;
}

/** Background work waiting for, or done with, its handler (migration 0010). */
export interface JobsTable {
  id: string;
  kind: string;
  /** Null once the job is done or failed for good. */
  payload: string | null;
  user_id: string | null;
  dedupe_key: string | null;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  attempts: Generated<number>;
  last_error: string | null;
  done_at: Timestamp | null;
  failed_at: Timestamp | null;
}

/** The TOTP second factor of one account (migration 0011). */
export interface MfaTotpTable {
  user_id: string;
  /** AES-256-GCM under the owner's data key. */
  secret_ciphertext: string;
  created_at: Timestamp;
  confirmed_at: Timestamp | null;
  /** The RFC 6238 time step of the last accepted code. */
  last_used_step: number | null;
}

/** One recovery code of one account, as its SHA-256 (migration 0012). */
export interface MfaRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

/** The second step of a login, by the SHA-256 of its `mfa_token` (migration 0013). */
export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  amr: string[];
  lockout_subject: string;
  device_id: string | null;
  webauthn_challenge_hash: string | null;
  attempts: Generated<number>;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** When each scheduled job last ran (migration 0015). */
export interface ScheduledRunsTable {
  name: string;
  last_started_at: Timestamp;
  last_finished_at: Timestamp | null;
  last_removed: string | number | bigint | null;
}

/** How far a redaction walk of the audit trail has got (migration 0017). */
export interface AuditRedactionProgressTable {
  name: string;
  /** bigint: a string from node-postgres. */
  through_seq: ColumnType<string | number, number, number>;
}

/** A deletion the owner asked for, erased when due unless cancelled (migration 0016). */
export interface AccountDeletionsTable {
  user_id: string;
  requested_at: Timestamp;
  due_at: Timestamp;
}

export interface Schema {
  schema_migrations: SchemaMigrationsTable;
  system_keys: SystemKeysTable;
  data_keys: DataKeysTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  users: UsersTable;
  blind_index_rotation: BlindIndexRotationTable;
  user_roles: UserRolesTable;
  roles: RolesTable;
  role_permissions: RolePermissionsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  one_time_tokens: OneTimeTokensTable;
  signing_keys: SigningKeysTable;
  login_failures: LoginFailuresTable;
  jobs: JobsTable;
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebAuthnChallengesTable;
  scheduled_runs: ScheduledRunsTable;
  account_deletions: AccountDeletionsTable;
  audit_redaction_progress: AuditRedactionProgressTable;
  user_files: UserFilesTable;
  shredded_keys: ShreddedKeysTable;
  retired_data_keys: RetiredDataKeysTable;
  data_key_rotations: DataKeyRotationsTable;
  incident_flags: IncidentFlagsTable;
  incident_campaigns: IncidentCampaignsTable;
  incident_recipients: IncidentRecipientsTable;
}

/** A data key a rotation destroyed, by key id; the account lives on (migration 0024). */
export interface RetiredDataKeysTable {
  key_id: string;
  owner_id: string;
  retired_at: Timestamp;
  rotation_id: string | null;
}

/** One `gatehouse keys rotate-data-keys` run and how far it got (migration 0024). */
export interface DataKeyRotationsTable {
  id: string;
  scope: 'all' | 'user';
  owner_id: string | null;
  started_at: Timestamp;
  cursor: string | null;
  rotated: Generated<number>;
  skipped: Generated<number>;
  finished_at: Timestamp | null;
}

/** A breach notification campaign: what it sends and to whom, by digest (migration 0026). */
export interface IncidentCampaignsTable {
  id: string;
  template_sha256: string;
  selection: 'users' | 'all';
  selection_sha256: string;
  selected: number | null;
  started_at: Timestamp;
  finished_at: Timestamp | null;
}

/** One person a campaign's mail was queued for, in the transaction of that mail's job (migration 0026). */
export interface IncidentRecipientsTable {
  campaign_id: string;
  user_id: string;
  queued_at: Timestamp;
}


/** The one row of containment switches every instance obeys (migration 0021). */
export interface IncidentFlagsTable {
  id: Generated<boolean>;
  registration_frozen_at: Timestamp | null;
  maintenance_since: Timestamp | null;
  updated_at: Timestamp;
}

/** The crypto-shredding ledger: a data key destroyed, by owner (migration 0019). */
export interface ShreddedKeysTable {
  owner_id: string;
  shredded_at: Timestamp;
}

/** A file a user uploaded, or their avatar (migration 0018); content and name encrypted under the owner's data key. */
export interface UserFilesTable {
  id: string;
  user_id: string;
  purpose: 'file' | 'avatar';
  media_type: string;
  size_bytes: number;
  name_ciphertext: string;
  /** AES-256-GCM under the owner's data key: `b1` || iv || ciphertext || tag (envelope.ts). */
  content: Uint8Array;
  created_at: Timestamp;
}

/** One WebAuthn credential of one account (migration 0014). */
export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url, as the authenticator chose it. */
  credential_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  /** The authenticator's signature counter; it only rises. */
  sign_count: number;
  transports: string[];
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  name: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export type WebAuthnChallengePurpose = 'register' | 'authenticate';

/** A challenge issued for one WebAuthn ceremony, as its SHA-256 (migration 0014). */
export interface WebAuthnChallengesTable {
  challenge_hash: string;
  /** Null for passwordless login: the account is known only from the assertion. */
  user_id: string | null;
  purpose: WebAuthnChallengePurpose;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}
