-- Login with a second factor, and how each session was authenticated.
--
-- `sessions.amr` holds the RFC 8176 authentication method references of the session
-- (`pwd`, `otp`, `hwk`, `swk`, `mfa`) and `auth_time` when the user last proved who they
-- are (OpenID Connect Core §2): at login, and again at each re-authentication. Step-up
-- (REAUTH_MAX_AGE) is judged from `auth_time`; routes reserved for second-factor
-- sessions from `amr`. Sessions made before this migration were password logins. The
-- defaults let an instance of the previous release, which does not name the columns,
-- keep creating password sessions during a rolling upgrade.
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT ARRAY['pwd']::text[]
  CHECK (cardinality(amr) BETWEEN 1 AND 8);
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
UPDATE sessions SET auth_time = created_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET DEFAULT now();
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL;

-- The second step of a login: after a correct password for an account with a second
-- factor, the client gets an `mfa_token` (256 random bits) and no session. Only its
-- SHA-256 is stored. It is valid for five minutes, completes one login at most (`used_at`
-- is set by the one UPDATE that finds it unset), and allows a few wrong codes
-- (`attempts`, raised before each check) before it is spent. `lockout_subject` is the
-- second-factor lockout counter the attempt draws on: the account's, or the account's on
-- one known device when the password came with a valid device token.
-- `webauthn_challenge_hash` is the challenge of the passkey assertion offered with it.
CREATE TABLE mfa_challenges (
  token_hash              text PRIMARY KEY CHECK (length(token_hash) = 43),
  user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  amr                     text[] NOT NULL CHECK (cardinality(amr) BETWEEN 1 AND 8),
  lockout_subject         text NOT NULL CHECK (length(lockout_subject) <= 256),
  device_id               text CHECK (length(device_id) <= 64),
  webauthn_challenge_hash text CHECK (length(webauthn_challenge_hash) <= 128),
  attempts                integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at              timestamptz NOT NULL,
  expires_at              timestamptz NOT NULL,
  used_at                 timestamptz
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);

-- Refresh with what the new access token needs about the session: the rotation of 0009,
-- unchanged, plus the session's `amr` and `auth_time`. Kept beside the five-argument
-- function, which instances of the previous release still call during an upgrade. The
-- rotation does not change either column, so reading them in the same statement is exact.
CREATE FUNCTION rotate_refresh_token_with_auth(
  p_token_hash text, p_successor_hash text, p_now timestamptz, p_idle_expires_at timestamptz, p_reuse_interval integer,
  OUT kind text, OUT session_id uuid, OUT user_id uuid, OUT roles text[], OUT amr text[], OUT auth_time timestamptz)
LANGUAGE sql VOLATILE AS $$
  SELECT r.kind, r.session_id, r.user_id, r.roles, s.amr, s.auth_time
    FROM rotate_refresh_token(p_token_hash, p_successor_hash, p_now, p_idle_expires_at, p_reuse_interval) AS r
    LEFT JOIN sessions s ON s.id = r.session_id AND r.kind IN ('rotated', 'retried');
$$;
