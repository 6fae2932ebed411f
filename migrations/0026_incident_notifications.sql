-- Breach notification campaigns (`gatehouse incident notify`, docs/incident-notification.md):
-- GDPR art. 34 mail to the people an incident affected, sent through the durable mail
-- queue (jobs). A campaign is identified by what it sends and to whom: the SHA-256 of
-- the reviewed template file and of the selection (the sorted user ids, or `all`), so a
-- rerun of the same command after a crash finds the same campaign and carries on.
--
-- One row per recipient, written in the same transaction as that recipient's mail job
-- (whose dedupe key is `incident:<campaign>:<user>`): the primary key makes a second
-- mail to the same person in the same campaign impossible, whichever run or process
-- tries. `user_id` is a pseudonymous id with no foreign key, like an audit record's
-- target: the fact that a person was told outlives the erasure of their account (whose
-- pending mail job goes with the account), and holds nothing readable about them.
CREATE TABLE incident_campaigns (
  id              uuid PRIMARY KEY,
  template_sha256 text NOT NULL CHECK (template_sha256 ~ '^[0-9a-f]{64}$'),
  selection       text NOT NULL CHECK (selection IN ('users', 'all')),
  selection_sha256 text NOT NULL CHECK (selection_sha256 ~ '^[0-9a-f]{64}$'),
  -- For `users`: how many distinct ids the file named.
  selected        integer CHECK (selected >= 0),
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  UNIQUE (template_sha256, selection_sha256)
);

CREATE TABLE incident_recipients (
  campaign_id uuid NOT NULL REFERENCES incident_campaigns (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL,
  queued_at   timestamptz NOT NULL,
  PRIMARY KEY (campaign_id, user_id)
);
