-- Security webhooks: one row per (audit event, receiver URL), written by the audit
-- observer inside the transaction of the change, so a webhook exists exactly when its
-- change committed, and it survives restarts until it is delivered or given up.
--
-- `payload` is text, not jsonb: the body is signed at each attempt and must be the same
-- bytes every time (jsonb would reorder keys and drop whitespace).
-- `next_attempt_at` doubles as the lease: claiming a row moves it past the delivery
-- timeout, so a crashed instance's claims become due again on their own; `attempts` is
-- raised by the claim and fences late updates from an instance whose lease ran out.
-- `last_error` holds a short code (`http_500`, `timeout`), never a URL or a response.
CREATE TABLE webhook_outbox (
  id              uuid PRIMARY KEY,
  event_id        uuid NOT NULL,
  url             text NOT NULL,
  event_type      text NOT NULL,
  payload         text NOT NULL,
  created_at      timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text CHECK (length(last_error) <= 100),
  delivered_at    timestamptz,
  failed_at       timestamptz,
  UNIQUE (event_id, url),
  CHECK (delivered_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_outbox_finished ON webhook_outbox (created_at) WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
