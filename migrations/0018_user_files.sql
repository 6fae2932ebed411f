-- Files users upload to their own account (POST /v1/me/files) and their avatar
-- (PUT /v1/me/avatar). The content and the original name are encrypted under the owner's
-- data key (envelope.ts), each bound to its row: erasing the account deletes the rows and
-- shreds the key, and a row's ciphertext cannot be moved to another row or owner. The
-- name is kept only as sanitised metadata, never as a path: nothing is stored under a
-- client-chosen name. `size_bytes` is the stored (re-encoded) size the quota counts.
CREATE TABLE user_files (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose         text NOT NULL CHECK (purpose IN ('file', 'avatar')),
  media_type      text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/webp', 'application/pdf', 'text/plain')),
  size_bytes      integer NOT NULL CHECK (size_bytes >= 0),
  name_ciphertext text NOT NULL,
  content         bytea NOT NULL,
  created_at      timestamptz NOT NULL
);
CREATE INDEX user_files_owner ON user_files (user_id, created_at, id);
-- One avatar per account: a new one replaces the old in the same transaction.
CREATE UNIQUE INDEX user_files_one_avatar ON user_files (user_id) WHERE purpose = 'avatar';
