-- The serialized part of an audit append in one round trip: take the chain lock, check
-- that the record the caller sealed after is still the head, and insert, in one call.
-- The HMAC key never reaches the database, so only the caller can seal: it guesses the
-- head (seq p_seq - 1, hash p_prev_hash), and when the guess is wrong this writes
-- nothing and returns the real head, read under the lock, which stays held until the
-- transaction ends; the caller seals after it and inserts with a plain INSERT.
--
-- SECURITY INVOKER: it runs with the caller's rights (INSERT and SELECT on audit_events)
-- and advisory locks, which any role may take. The head is read by a statement started
-- after the lock is granted; in READ COMMITTED a volatile function takes a snapshot per
-- statement, so it sees the previous holder's commit. `synchronous_commit` is a
-- user-settable parameter, set here for this transaction only.
CREATE FUNCTION audit_append(
  p_lock_id bigint, p_defer_flush boolean,
  p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_actor_type text, p_actor_id text,
  p_action text, p_target_type text, p_target_id text, p_outcome text, p_ip text,
  p_user_agent text, p_request_id text, p_details jsonb, p_key_id text, p_prev_hash text,
  p_hash text,
  OUT appended boolean, OUT head_seq bigint, OUT head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_defer_flush THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  PERFORM pg_advisory_xact_lock(p_lock_id);
  SELECT e.seq, e.hash INTO head_seq, head_hash FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := repeat('0', 64);
  END IF;
  appended := head_seq = p_seq - 1 AND head_hash = p_prev_hash;
  IF appended THEN
    INSERT INTO audit_events (seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
                              outcome, ip, user_agent, request_id, details, key_id, prev_hash, hash)
    VALUES (p_seq, p_id, p_occurred_at, p_actor_type, p_actor_id, p_action, p_target_type, p_target_id,
            p_outcome, p_ip, p_user_agent, p_request_id, p_details, p_key_id, p_prev_hash, p_hash);
  END IF;
END;
$$;
