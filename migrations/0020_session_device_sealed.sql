-- A session's device data (the client's address and user agent) is personal data. From
-- here on it is sealed under the owner's data key (AES-256-GCM, bound to the session row
-- and column: src/features/sessions/device.ts), so a copy of the database without the
-- master key does not show where anyone signs in from, and erasing the account shreds it
-- with the key. The plaintext values kept so far are dropped rather than sealed: they were
-- shown in the session list only, and sessions last 30 days at most.
-- `device_minimized_at`: when IP_RETENTION_DAYS cut the sealed address to its network and
-- removed the user agent (the retention job `truncate-old-addresses`).
ALTER TABLE sessions DROP COLUMN ip;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions ADD COLUMN ip_sealed text;
ALTER TABLE sessions ADD COLUMN user_agent_sealed text;
ALTER TABLE sessions ADD COLUMN device_minimized_at timestamptz;
CREATE INDEX sessions_device_minimization ON sessions (created_at) WHERE device_minimized_at IS NULL;
