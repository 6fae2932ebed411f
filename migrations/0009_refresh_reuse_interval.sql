-- Refresh-token rotation with a reuse interval (REFRESH_TOKEN_REUSE_INTERVAL_SECONDS).
-- A client that retries a refresh (a lost response, two browser tabs) presents a token
-- it already spent a moment ago. Within the interval that is a retry, not a theft: the
-- caller gets the same successor again. The successor is derived from the presented
-- token with a server-side HMAC (src/features/sessions/successor.ts), so the server can
-- compute it again without storing it; the database still holds only its SHA-256, here
-- `p_successor_hash`, which is both the hash to store on a first rotation and the proof
-- on a retry that the presented token is the immediate parent of the current one.
--
-- The grace is narrow: the presented token was spent less than `p_reuse_interval`
-- seconds ago, ITS successor is the session's unused (current) token, and the session
-- is live with an active user. An older token in the chain, whose successor has been
-- spent too, is a reuse even within the interval: otherwise a stolen old token could be
-- replayed forever. Interval 0 is strict single use. Everything else is as in 0007.
--
-- The arguments change, so this is an overload beside 0007's four-argument function,
-- which stays, unchanged, for instances of the previous release during a rolling upgrade
-- (they keep strict single use); a later migration can drop it.
CREATE FUNCTION rotate_refresh_token(
  p_token_hash text, p_successor_hash text, p_now timestamptz, p_idle_expires_at timestamptz, p_reuse_interval integer,
  OUT kind text, OUT session_id uuid, OUT user_id uuid, OUT roles text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_claimed uuid;
  v_used_at timestamptz;
BEGIN
  UPDATE refresh_tokens t SET used_at = p_now
    WHERE t.token_hash = p_token_hash AND t.used_at IS NULL
    RETURNING t.session_id INTO v_claimed;
  IF NOT FOUND THEN
    -- In READ COMMITTED this statement's snapshot sees the claim that beat ours and the
    -- successor it stored (same transaction, committed before our UPDATE returned).
    SELECT s.id, s.user_id, t.used_at INTO session_id, user_id, v_used_at
      FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
      WHERE t.token_hash = p_token_hash;
    IF NOT FOUND THEN
      kind := 'invalid';
      RETURN;
    END IF;
    IF p_reuse_interval > 0 AND v_used_at > p_now - make_interval(secs => p_reuse_interval) AND EXISTS (
        SELECT 1 FROM refresh_tokens n JOIN sessions s ON s.id = n.session_id
          WHERE n.token_hash = p_successor_hash AND n.session_id = rotate_refresh_token.session_id AND n.used_at IS NULL
            AND s.revoked_at IS NULL AND s.idle_expires_at > p_now AND s.expires_at > p_now
            AND EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.status = 'active')) THEN
      roles := ARRAY(SELECT r.role FROM user_roles r WHERE r.user_id = rotate_refresh_token.user_id ORDER BY r.role);
      kind := 'retried';
      RETURN;
    END IF;
    kind := 'reused';
    RETURN;
  END IF;
  UPDATE sessions s SET last_used_at = p_now, idle_expires_at = least(p_idle_expires_at, s.expires_at)
    WHERE s.id = v_claimed AND s.revoked_at IS NULL AND s.idle_expires_at > p_now AND s.expires_at > p_now
      AND EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.status = 'active')
    RETURNING s.id, s.user_id INTO session_id, user_id;
  IF NOT FOUND THEN
    kind := 'invalid';
    RETURN;
  END IF;
  INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (p_successor_hash, session_id, p_now);
  roles := ARRAY(SELECT r.role FROM user_roles r WHERE r.user_id = rotate_refresh_token.user_id ORDER BY r.role);
  kind := 'rotated';
END;
$$;
