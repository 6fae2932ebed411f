-- Foundation: wrapped system secrets, per-owner data keys, and the audit trail.

-- Secrets the server generates for itself (blind-index key, audit-chain key, signing
-- keys), each wrapped by the master keyring so that a master-key rotation re-wraps them.
CREATE TABLE system_keys (
  id            text PRIMARY KEY,
  purpose       text NOT NULL,
  master_key_id text NOT NULL,
  wrapped_key   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX system_keys_master_key_id ON system_keys (master_key_id);

-- One data key per owner (a user), wrapped by the master keyring. Deleting the row
-- crypto-shreds every field encrypted under it, in backups too.
CREATE TABLE data_keys (
  owner_id      uuid PRIMARY KEY,
  master_key_id text NOT NULL,
  wrapped_key   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_keys_master_key_id ON data_keys (master_key_id);

-- Append-only, hash-chained audit trail. `seq` is gapless and assigned under a
-- transaction-scoped advisory lock; `hash` = HMAC(key, prev_hash || canonical content).
CREATE TABLE audit_events (
  seq         bigint PRIMARY KEY,
  id          uuid NOT NULL UNIQUE,
  occurred_at timestamptz NOT NULL,
  actor_type  text NOT NULL,
  actor_id    text,
  action      text NOT NULL,
  target_type text,
  target_id   text,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  ip          text,
  user_agent  text,
  request_id  text,
  details     jsonb NOT NULL,
  key_id      text NOT NULL,
  prev_hash   text NOT NULL,
  hash        text NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_target ON audit_events (target_id, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);

CREATE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change();

CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();
