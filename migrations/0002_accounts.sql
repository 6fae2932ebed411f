-- Accounts, sessions, one-time tokens, signing keys and login-failure counters.

-- Email and name are encrypted under the user's data key (data_keys); lookups and
-- uniqueness go through the blind index of the normalized email.
CREATE TABLE users (
  id                uuid PRIMARY KEY,
  email_index       text NOT NULL UNIQUE,
  email_ciphertext  text NOT NULL,
  name_ciphertext   text,
  password_hash     text,
  email_verified_at timestamptz,
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);

CREATE TABLE user_roles (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL,
  granted_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, role)
);

-- One row per login. A session ends by revocation, by idle expiry (no refresh within
-- the idle window) or at its absolute lifetime.
CREATE TABLE sessions (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL,
  last_used_at    timestamptz NOT NULL,
  idle_expires_at timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  revoked_reason  text,
  ip              text,
  user_agent      text,
  auth_method     text NOT NULL
);
CREATE INDEX sessions_user_active ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored only as SHA-256. A token is used once: `used_at` is set when
-- it is rotated, and presenting it again revokes its session (the token family).
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Email verification and password reset tokens, stored only as SHA-256, single use.
CREATE TABLE one_time_tokens (
  token_hash text PRIMARY KEY,
  purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);

-- Ed25519 signing keys, private halves wrapped by the master keyring. States:
-- next (published, not yet signing) -> active (signing) -> retired (published until
-- every token it signed has expired, then dropped from the JWKS).
CREATE TABLE signing_keys (
  kid                 text PRIMARY KEY,
  algorithm           text NOT NULL,
  public_jwk          jsonb NOT NULL,
  master_key_id       text NOT NULL,
  wrapped_private_key text NOT NULL,
  state               text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
  created_at          timestamptz NOT NULL,
  activated_at        timestamptz,
  retired_at          timestamptz,
  publish_until       timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
CREATE INDEX signing_keys_master_key_id ON signing_keys (master_key_id);

-- Consecutive login failures per account subject: the blind index of the email, so an
-- address with no account is counted (and locked) exactly like one with an account.
CREATE TABLE login_failures (
  subject      text PRIMARY KEY,
  failures     integer NOT NULL,
  lock_count   integer NOT NULL,
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL
);
