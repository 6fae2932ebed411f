-- Rotation of the audit-chain key (`gatehouse keys rotate-audit`, core/audit/rotate-key.ts).
--
-- Which key seals a record is told by the chain itself: the key of the record before it,
-- unless that record is a hand-over (`audit.key_rotated`), which names the key every
-- later record is sealed under. The hand-over is sealed under the old key, so the old
-- chain vouches for the switch. Appends are serialized by the chain lock, and the head
-- is read under it, so the key in force is read in the same serialized step: every
-- instance switches at the same record, and an instance still holding the old key is
-- told (audit_append answers the key in force) and seals again under the new one.

-- The key the record after (action, key_id, details) must be sealed under.
CREATE FUNCTION audit_next_key_id(p_action text, p_key_id text, p_details jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_action = 'audit.key_rotated' THEN p_details->>'new_key_id' ELSE p_key_id END
$$;

-- A checkpoint also names the key the first record after it is sealed under, so a chain
-- resumed from a checkpoint cannot continue under a key rotated out before it. NULL on
-- checkpoints written before this migration (before any rotation). Its signature covers it.
ALTER TABLE audit_checkpoints ADD COLUMN next_key_id text;

-- audit_append() also refuses a record sealed under another key than the one in force,
-- and answers that key with the head (migration 0017's version is replaced).
DROP FUNCTION audit_append(bigint, boolean, bigint, uuid, timestamptz, text, text, text, text, text, text, text, text, text, text, text, jsonb, text, text, text);

CREATE FUNCTION audit_append(
  p_lock_id bigint, p_defer_flush boolean,
  p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_actor_type text, p_actor_id text,
  p_action text, p_target_type text, p_target_id text, p_outcome text, p_ip text,
  p_user_agent text, p_personal_digest text, p_network_digest text, p_request_id text, p_details jsonb,
  p_key_id text, p_prev_hash text, p_hash text,
  OUT appended boolean, OUT head_seq bigint, OUT head_hash text, OUT head_key_id text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_defer_flush THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  PERFORM pg_advisory_xact_lock(p_lock_id);
  SELECT e.seq, e.hash, audit_next_key_id(e.action, e.key_id, e.details) INTO head_seq, head_hash, head_key_id
    FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := repeat('0', 64);
    head_key_id := NULL;
  END IF;
  appended := head_seq = p_seq - 1 AND head_hash = p_prev_hash AND (head_key_id IS NULL OR head_key_id = p_key_id);
  IF appended THEN
    INSERT INTO audit_events (seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
                              outcome, ip, user_agent, personal_digest, network_digest, request_id, details, key_id, prev_hash, hash)
    VALUES (p_seq, p_id, p_occurred_at, p_actor_type, p_actor_id, p_action, p_target_type, p_target_id,
            p_outcome, p_ip, p_user_agent, p_personal_digest, p_network_digest, p_request_id, p_details, p_key_id, p_prev_hash, p_hash);
  END IF;
END;
$$;

-- The append-at-head trigger (migration 0008) also holds every insert to the key in force:
-- a process that never heard of a rotation cannot append under the old key after it,
-- whatever path it takes. (A forged row is still caught by its hash.)
CREATE OR REPLACE FUNCTION audit_events_check_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head bigint;
  head_key text;
BEGIN
  SELECT e.seq, audit_next_key_id(e.action, e.key_id, e.details) INTO head, head_key
    FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF head IS NULL THEN
    SELECT c.through_seq, c.next_key_id INTO head, head_key FROM audit_checkpoints c ORDER BY c.through_seq DESC LIMIT 1;
  END IF;
  IF NEW.seq IS DISTINCT FROM COALESCE(head, 0) + 1 THEN
    RAISE EXCEPTION 'audit_events only grows at its head' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF head_key IS NOT NULL AND NEW.key_id IS DISTINCT FROM head_key THEN
    RAISE EXCEPTION 'audit_events: a record must be sealed under the key in force' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
