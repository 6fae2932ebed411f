-- Incident containment (docs/incident-containment.md).
-- `password_reset_required_at`: set by `gatehouse incident force-password-reset`; while it
-- is set, a login with the correct password answers `password_reset_required`, and a
-- completed password reset (the mailed link) clears it.
ALTER TABLE users ADD COLUMN password_reset_required_at timestamptz;
-- The switches every instance obeys: one row, read through a cache of at most one second
-- and dropped at once on every instance when a change announces it (core/cache-broadcast.ts).
CREATE TABLE incident_flags (
  id                     boolean PRIMARY KEY DEFAULT true CHECK (id),
  registration_frozen_at timestamptz,
  maintenance_since      timestamptz,
  updated_at             timestamptz NOT NULL
);
INSERT INTO incident_flags (id, updated_at) VALUES (true, now());
