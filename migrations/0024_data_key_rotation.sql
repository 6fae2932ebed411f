-- Rotation of per-user data keys (`gatehouse keys rotate-data-keys`, issue 15): for a
-- suspected exposure of users' data keys, each affected user gets a new data key, every
-- field sealed under the old one is sealed again under the new one, and the old key is
-- destroyed, all in one transaction per user (src/features/data-keys/rotate-user.ts).
--
-- `key_id` names one version of an owner's data key. A rotation replaces the row's key,
-- key id and `created_at` in place (an UPDATE, never a delete and insert, so a writer
-- waiting on the row's lock reads the new key: envelope.ts loadDataKeyToSeal). Rows made
-- before this migration get a random id here.
ALTER TABLE data_keys ADD COLUMN key_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX data_keys_key_id ON data_keys (key_id);

-- The keys a rotation destroyed, by key id: a second ledger beside `shredded_keys` on
-- purpose. That one is keyed by owner and a restore re-applies it by erasing the owner's
-- account (features/backup/restore.ts); a retired key belongs to a live account, which a
-- restore must never erase. Only ids and times: nothing here unwraps anything.
CREATE TABLE retired_data_keys (
  key_id      uuid PRIMARY KEY,
  owner_id    uuid NOT NULL,
  retired_at  timestamptz NOT NULL,
  rotation_id uuid
);
CREATE INDEX retired_data_keys_owner ON retired_data_keys (owner_id);

-- One row per rotation run: what it covers, how far it got, what it did. A run of
-- `--all` walks data_keys by owner id; `cursor` is the last owner it finished, written in
-- that owner's own transaction, so a run stopped anywhere (kill -9 included) is resumed
-- by running the command again, and no owner is counted twice. A key created after
-- `started_at` (a new account, or one this run rotated already) is left alone.
CREATE TABLE data_key_rotations (
  id          uuid PRIMARY KEY,
  scope       text NOT NULL CHECK (scope IN ('all', 'user')),
  owner_id    uuid,
  started_at  timestamptz NOT NULL,
  cursor      uuid,
  rotated     integer NOT NULL DEFAULT 0 CHECK (rotated >= 0),
  skipped     integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
  finished_at timestamptz,
  CHECK ((scope = 'user') = (owner_id IS NOT NULL))
);
-- At most one unfinished run of everything: a second `--all` resumes it.
CREATE UNIQUE INDEX data_key_rotations_one_open ON data_key_rotations (scope) WHERE finished_at IS NULL AND scope = 'all';
