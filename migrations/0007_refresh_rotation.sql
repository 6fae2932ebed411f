-- A refresh-token rotation in one call (one round trip, one implicit transaction), with
-- its statements planned once per connection rather than on every request. The steps
-- are those the server used to send one by one inside a transaction:
--
-- 1. Claim: mark the presented token used if it is unused. The row lock makes this the
--    single-use check: of concurrent presentations one claims, the others wait for its
--    commit, find the token used and claim nothing.
-- 2. Nothing claimed: a token we know (its session's ids are returned) is a reuse, which
--    the caller answers by revoking the session and auditing; an unknown one is invalid.
-- 3. Claimed: extend the session's idle expiry (never past its absolute expiry) if it is
--    live and its user is active; otherwise the token stays spent and nothing is issued.
-- 4. Store the successor (only its SHA-256: the token itself never reaches the database)
--    and return the user's roles for the new access token.
--
-- SECURITY INVOKER: it runs with the caller's rights on these tables. In READ COMMITTED
-- a volatile function takes a snapshot per statement, so step 2 sees the claim that
-- beat this one.
CREATE FUNCTION rotate_refresh_token(
  p_token_hash text, p_successor_hash text, p_now timestamptz, p_idle_expires_at timestamptz,
  OUT kind text, OUT session_id uuid, OUT user_id uuid, OUT roles text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_claimed uuid;
BEGIN
  UPDATE refresh_tokens t SET used_at = p_now
    WHERE t.token_hash = p_token_hash AND t.used_at IS NULL
    RETURNING t.session_id INTO v_claimed;
  IF NOT FOUND THEN
    SELECT s.id, s.user_id INTO session_id, user_id
      FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
      WHERE t.token_hash = p_token_hash;
    kind := CASE WHEN FOUND THEN 'reused' ELSE 'invalid' END;
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
