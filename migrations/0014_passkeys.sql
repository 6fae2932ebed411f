-- Passkeys (WebAuthn Level 3 public key credentials), any number per account, used as a
-- second factor after the password or alone for passwordless login.
--
-- Only public material is stored: the credential id the authenticator chose and the
-- credential's COSE public key (RFC 9052 §7), both base64url. A copy of this table lets
-- nobody sign in, so neither is sealed under the owner's data key. Their lengths are
-- bounded here as well as in code: WebAuthn §5.8.3 caps a credential id at 1023 bytes
-- (1364 base64url characters) and asks for at least 16 bytes (22 characters); the largest
-- key accepted (RS256, 4096 bits) is about 540 bytes as COSE.
--
-- `credential_id` is unique across all accounts (WebAuthn §7.1 step 26): an attacker who
-- saw a victim's credential id must not register it on their own account with their own
-- key, and an assertion names exactly one row.
--
-- `sign_count` is the authenticator's signature counter (§6.1.1). It only rises: an
-- assertion is accepted by one UPDATE whose WHERE demands a larger counter (or, for
-- authenticators without a counter, zero before and after), so of two assertions carrying
-- the same counter, even in parallel, exactly one is taken, and a lower counter, the sign
-- of a cloned authenticator, changes nothing.
--
-- `device_type` and `backed_up` are the BE and BS flags (§6.1.3): 'multiDevice' credentials
-- may be synced by their provider and leave the device.
CREATE TABLE passkeys (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  credential_id text NOT NULL UNIQUE
                CHECK (length(credential_id) BETWEEN 22 AND 1364 AND credential_id ~ '^[A-Za-z0-9_-]+$'),
  public_key    text NOT NULL
                CHECK (length(public_key) BETWEEN 16 AND 1024 AND public_key ~ '^[A-Za-z0-9_-]+$'),
  sign_count    bigint NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
  transports    text[] NOT NULL DEFAULT '{}'
                CHECK (cardinality(transports) <= 8 AND length(array_to_string(transports, ',')) <= 128),
  device_type   text NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  backed_up     boolean NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- Challenges the server issued for a ceremony, stored only as the SHA-256 (hex) of their
-- base64url form: each carries 256 random bits, so a fast hash loses nothing and a copy
-- of the table yields none that could be answered. A challenge is spent by one UPDATE
-- that sets `used_at` only where it is null and not yet expired, so it answers one
-- ceremony (WebAuthn §13.4.3), of any number of parallel attempts, within 5 minutes.
--
-- `user_id` is the account the ceremony is for (registration, passkey as second factor);
-- null for passwordless login, where the account is known only from the assertion. A
-- challenge issued for one account is never accepted for another, nor for the other
-- purpose. Expired rows are deleted by `purgeExpiredChallenges`.
CREATE TABLE webauthn_challenges (
  challenge_hash text PRIMARY KEY CHECK (length(challenge_hash) = 64),
  user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
  purpose        text NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,
  CHECK (purpose = 'authenticate' OR user_id IS NOT NULL)
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);
