-- Account deletions the owner asked for (DELETE /v1/me), waiting out
-- ACCOUNT_DELETION_GRACE_DAYS: the scheduled job `erase-requested-accounts` erases each
-- account when due (sessions ended, rows deleted, data key shredded), unless the owner
-- cancelled first (the mailed link, or logging in and confirming). One row per account;
-- it goes with the account.
CREATE TABLE account_deletions (
  user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  requested_at timestamptz NOT NULL,
  due_at       timestamptz NOT NULL CHECK (due_at >= requested_at)
);
CREATE INDEX account_deletions_due ON account_deletions (due_at);

-- The mailed link that cancels a deletion is a one-time token of its own purpose.
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check CHECK (purpose IN ('verify_email', 'password_reset', 'cancel_deletion'));
