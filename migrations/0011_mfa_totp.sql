-- TOTP second factor (RFC 6238), one per account. The shared secret is AES-256-GCM under
-- the owner's data key (`secret_ciphertext`, associated data `mfa_totp/secret/<user id>`),
-- so a copy of this table alone reveals nothing and deleting the user (or shredding their
-- data key) makes the secret unrecoverable, backups aside (see docs/operations.md).
--
-- `last_used_step` is the RFC 6238 time step of the last code accepted: a code is taken
-- only by an UPDATE that raises it, so a code is accepted once, even when the same code
-- is submitted many times in parallel, and never again within its ±1-step window.
-- `confirmed_at` is null while the enrolment waits for its first valid code; such a row
-- never counts as a second factor.
CREATE TABLE mfa_totp (
  user_id           uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_ciphertext text NOT NULL CHECK (length(secret_ciphertext) <= 512),
  created_at        timestamptz NOT NULL,
  confirmed_at      timestamptz,
  last_used_step    integer CHECK (last_used_step >= 0)
);
