-- Recovery codes: ten single-use codes per account, shown once when made, stored only as
-- their SHA-256 (a code carries 80 random bits, so a fast hash loses nothing to a slow
-- one: there is no dictionary to try, and 2^80 guesses are out of reach). A code is spent by one UPDATE that sets `used_at`
-- only where it is null, so of any number of parallel uses exactly one succeeds. Making a
-- new set deletes the old one in the same transaction.
CREATE TABLE mfa_recovery_codes (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL CHECK (length(code_hash) = 64),
  created_at timestamptz NOT NULL,
  used_at    timestamptz,
  PRIMARY KEY (user_id, code_hash)
);
