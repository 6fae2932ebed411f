-- One durable job queue for every background task (mail, security webhooks, and what
-- comes later), generalised from the webhook outbox of migration 0006. A job is written
-- inside the transaction of the change that asks for it, so it exists exactly when that
-- change commits, and it survives restarts until it is done or given up.
--
-- `kind` names the handler (`mail`, `webhook`); the retry policy and timeout are the
-- handler's, in code. `payload` is text the handler reads back byte for byte (a webhook
-- body is signed at each attempt); a payload that holds a secret (a mail: the recipient
-- and a one-time link) is stored AES-256-GCM-sealed by its kind, never in clear. It is
-- cleared once the job is done or has failed for good: nothing finished keeps it.
-- `user_id` ties a job to the account it is for: deleting the user deletes their jobs.
-- `dedupe_key` makes a job unique within its kind where given (a webhook: one per audit
-- event and receiver, `<event id>:<hex SHA-256 of the URL>`, so a long URL cannot
-- outgrow the index and the URL, which may carry a token, is not repeated).
-- `next_attempt_at` doubles as the lease: claiming a job moves it past the handler's
-- timeout, so a crashed instance's claims become due again on their own; `attempts` is
-- raised by the claim and fences late updates from an instance whose lease ran out.
-- `last_error` holds a short code (`http_500`, `timeout`), never an address or a response.
CREATE TABLE jobs (
  id              uuid PRIMARY KEY,
  kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_-]{0,31}$'),
  payload         text,
  user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
  dedupe_key      text CHECK (length(dedupe_key) <= 200),
  created_at      timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text CHECK (length(last_error) <= 100),
  done_at         timestamptz,
  failed_at       timestamptz,
  CHECK (done_at IS NULL OR failed_at IS NULL),
  CHECK (payload IS NOT NULL OR done_at IS NOT NULL OR failed_at IS NOT NULL)
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Serves both the claim (due jobs of the handled kinds) and the capacity check (pending
-- jobs of one kind), and holds only pending jobs, so both stay cheap however many
-- finished jobs await pruning.
CREATE INDEX jobs_pending ON jobs (kind, next_attempt_at) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX jobs_finished ON jobs (created_at) WHERE done_at IS NOT NULL OR failed_at IS NOT NULL;
-- For the cascade when a user is deleted.
CREATE INDEX jobs_user ON jobs (user_id) WHERE user_id IS NOT NULL;

-- The outbox's rows become `webhook` jobs: pending ones keep everything the handler
-- needs; finished ones keep their outcome and lose their payload, as finished jobs do.
INSERT INTO jobs (id, kind, payload, user_id, dedupe_key, created_at, next_attempt_at, attempts, last_error, done_at, failed_at)
SELECT
  id,
  'webhook',
  CASE WHEN delivered_at IS NULL AND failed_at IS NULL
    THEN json_build_object('event_id', event_id, 'event_type', event_type, 'url', url, 'body', payload)::text
  END,
  NULL,
  event_id::text || ':' || encode(sha256(convert_to(url, 'UTF8')), 'hex'),
  created_at,
  next_attempt_at,
  attempts,
  left(last_error, 100),
  delivered_at,
  failed_at
FROM webhook_outbox;

DROP TABLE webhook_outbox;
