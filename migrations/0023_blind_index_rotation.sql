-- Online rotation of the blind-index key (`gatehouse keys rotate-blind-index`,
-- src/features/users/blind-index-rotation.ts, docs/operations.md "Rotating keys").
--
-- Each user row says which blind-index key its email_index was computed under, so the
-- move knows which rows are left and can refuse to finish while one is. Rows from before
-- any rotation were all indexed under the first key, whose id is the purpose itself.
ALTER TABLE users ADD COLUMN email_index_key text NOT NULL DEFAULT 'blind-index';
-- (Not `users_email_index_key`: that is the name of the unique constraint on email_index.)
CREATE INDEX users_by_blind_index_key ON users (email_index_key, id);

-- The one row of rotation state every instance reads: the rotation's new key
-- (current_key_id) and, until it is done, the key being retired (previous_key_id), and how
-- far the move got (the last user id re-indexed, for resuming). Phases: `announced` (both
-- keys are looked up, new indexes are still written under the old key, so an instance that
-- has not reloaded yet finds them), `moving` (new indexes under the new key; rows move),
-- `done` (one key). Writers of email indexes read the row FOR SHARE in their transaction,
-- so a phase change (an UPDATE of this row) waits for writes in flight and every later
-- write sees it.
CREATE TABLE blind_index_rotation (
  id              smallint PRIMARY KEY CHECK (id = 1),
  current_key_id  text NOT NULL,
  previous_key_id text,
  phase           text NOT NULL CHECK (phase IN ('announced', 'moving', 'done')),
  cursor          uuid,
  moved           bigint NOT NULL DEFAULT 0,
  started_at      timestamptz,
  finished_at     timestamptz,
  CHECK ((phase <> 'done') = (previous_key_id IS NOT NULL))
);
INSERT INTO blind_index_rotation (id, current_key_id, phase) VALUES (1, 'blind-index', 'done');
