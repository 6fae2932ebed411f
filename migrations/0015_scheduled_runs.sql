-- The retention scheduler's claims (src/core/jobs/scheduler.ts): one row per scheduled
-- job, naming when it last started. An instance runs a job only after the one UPDATE that
-- moves `last_started_at` forward from a value older than the job's interval, so of many
-- instances polling at once exactly one runs each due job, on PGlite and PostgreSQL alike.
CREATE TABLE scheduled_runs (
  name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,47}$'),
  last_started_at  timestamptz NOT NULL,
  last_finished_at timestamptz,
  last_removed     bigint CHECK (last_removed >= 0)
);
