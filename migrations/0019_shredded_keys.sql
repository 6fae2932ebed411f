-- The crypto-shredding ledger: one row per data key destroyed (an erased account), written
-- in the same transaction as the deletion (core/crypto/envelope.ts shredDataKey). A backup
-- taken before the erasure still holds the wrapped key, so `gatehouse backup restore`
-- re-applies every erasure recorded here by a newer backup (or a ledger file) before the
-- restored database can serve (src/features/backup/erasures.ts, docs/privacy.md). The row
-- holds only the pseudonymous id and a time, and is kept for as long as backups are.
CREATE TABLE shredded_keys (
  owner_id    uuid PRIMARY KEY,
  shredded_at timestamptz NOT NULL
);
