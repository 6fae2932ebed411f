-- Personal data in the audit trail (the client's IP address and user agent) can now be
-- redacted without breaking the chain (docs/privacy.md). A new record's hash covers two
-- HMACs under the audit key instead of the two values: `personal_digest` of (id, ip,
-- user_agent) and `network_digest` of (id, the network of ip: /24 for IPv4, /48 for
-- IPv6). Later the values may be redacted in place, and only in two ways, which
-- verification can tell from tampering:
-- - cut: the user agent removed and the address cut to its network (it must match
--   `network_digest`), once the record is a day old (IP_RETENTION_DAYS is at least 1:
--   the `truncate-old-addresses` job);
-- - removed: both set to NULL, only on a successful record of a user who no longer
--   exists (erasure: what that person provably did).
-- Records written before this migration have no digests: their hash covers the values,
-- and they stay as they are.
ALTER TABLE audit_events ADD COLUMN personal_digest text CHECK (personal_digest ~ '^[0-9a-f]{64}$');
ALTER TABLE audit_events ADD COLUMN network_digest text CHECK (network_digest ~ '^[0-9a-f]{64}$');
ALTER TABLE audit_events ADD CONSTRAINT audit_events_digests_together CHECK ((personal_digest IS NULL) = (network_digest IS NULL));

-- The network of an address: the only value an address may be cut to. NULL for NULL and
-- for anything that is not an address.
CREATE FUNCTION audit_truncate_ip(p_ip text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  addr inet;
BEGIN
  IF p_ip IS NULL THEN
    RETURN NULL;
  END IF;
  BEGIN
    addr := p_ip::inet;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END;
  RETURN host(network(set_masklen(addr, CASE WHEN family(addr) = 4 THEN 24 ELSE 48 END)));
END;
$$;

-- How far the `truncate-old-addresses` job has cut (it walks the trail once, in seq order).
CREATE TABLE audit_redaction_progress (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,47}$'),
  through_seq bigint NOT NULL CHECK (through_seq >= 0)
);

-- The append-only trigger lets the two redactions above through, and nothing else. The
-- least-privilege role may UPDATE `ip` and `user_agent` only (docs/operations.md); this
-- is what limits it to those two redactions.
CREATE OR REPLACE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
     AND current_setting('gatehouse.audit_prune', true) = 'on'
     AND OLD.seq <= (SELECT max(c.through_seq) FROM audit_checkpoints c) THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND TG_LEVEL = 'ROW'
     AND OLD.personal_digest IS NOT NULL
     AND (to_jsonb(NEW) - 'ip' - 'user_agent') = (to_jsonb(OLD) - 'ip' - 'user_agent')
     AND NEW.user_agent IS NULL
     AND (
       (NEW.ip IS NOT DISTINCT FROM audit_truncate_ip(OLD.ip) AND OLD.occurred_at < now() - interval '1 day')
       OR (NEW.ip IS NULL AND OLD.actor_type = 'user' AND OLD.outcome = 'success'
           AND OLD.actor_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           AND NOT EXISTS (SELECT 1 FROM users u
                           WHERE u.id = CASE WHEN OLD.actor_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN OLD.actor_id::uuid END))
     ) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- audit_append() takes the digests too (migration 0003's version is replaced).
DROP FUNCTION audit_append(bigint, boolean, bigint, uuid, timestamptz, text, text, text, text, text, text, text, text, text, jsonb, text, text, text);

CREATE FUNCTION audit_append(
  p_lock_id bigint, p_defer_flush boolean,
  p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_actor_type text, p_actor_id text,
  p_action text, p_target_type text, p_target_id text, p_outcome text, p_ip text,
  p_user_agent text, p_personal_digest text, p_network_digest text, p_request_id text, p_details jsonb,
  p_key_id text, p_prev_hash text, p_hash text,
  OUT appended boolean, OUT head_seq bigint, OUT head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_defer_flush THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  PERFORM pg_advisory_xact_lock(p_lock_id);
  SELECT e.seq, e.hash INTO head_seq, head_hash FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := repeat('0', 64);
  END IF;
  appended := head_seq = p_seq - 1 AND head_hash = p_prev_hash;
  IF appended THEN
    INSERT INTO audit_events (seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
                              outcome, ip, user_agent, personal_digest, network_digest, request_id, details, key_id, prev_hash, hash)
    VALUES (p_seq, p_id, p_occurred_at, p_actor_type, p_actor_id, p_action, p_target_type, p_target_id,
            p_outcome, p_ip, p_user_agent, p_personal_digest, p_network_digest, p_request_id, p_details, p_key_id, p_prev_hash, p_hash);
  END IF;
END;
$$;
