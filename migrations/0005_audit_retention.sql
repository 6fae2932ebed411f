-- Audit retention: signed checkpoints, and the one path by which old records may go.
--
-- Pruning removes the oldest records, so the chain no longer starts at the genesis
-- hash. A checkpoint keeps the rest verifiable: it states the seq and hash of the last
-- removed record (and how many records that prune removed), HMAC-signed with the
-- audit-chain key, which never reaches the database. A verifier checks the signature,
-- then that the first remaining record follows it (seq + 1, prev_hash = through_hash).
CREATE TABLE audit_checkpoints (
  id           uuid PRIMARY KEY,
  through_seq  bigint NOT NULL UNIQUE CHECK (through_seq > 0),
  through_hash text NOT NULL CHECK (through_hash ~ '^[0-9a-f]{64}$'),
  record_count bigint NOT NULL CHECK (record_count >= 0),
  created_at   timestamptz NOT NULL,
  key_id       text NOT NULL,
  signature    text NOT NULL
);

CREATE FUNCTION audit_checkpoints_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_checkpoints is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_checkpoints_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_reject_change();

CREATE TRIGGER audit_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_reject_change();

-- The append-only trigger now lets one kind of DELETE through: inside a transaction
-- that said it is pruning (`SET LOCAL gatehouse.audit_prune = 'on'`), of a record a
-- checkpoint already covers. The setting is not a privilege (any role may set a custom
-- parameter); it stops accidents. What stops the application is that its least-
-- privilege role has no DELETE grant on this table (docs/operations.md), so only the
-- owner running `gatehouse audit prune` gets this far. UPDATE and TRUNCATE stay refused.
CREATE OR REPLACE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
     AND current_setting('gatehouse.audit_prune', true) = 'on'
     AND OLD.seq <= (SELECT max(c.through_seq) FROM audit_checkpoints c) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
