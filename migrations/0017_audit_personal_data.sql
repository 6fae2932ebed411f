-- Personal data in the audit trail (the client's IP address and user agent) can now be
-- redacted without breaking the chain (docs/privacy.md). A new record's hash covers
-- `personal_digest`, an HMAC under the audit key of (id, ip, user_agent), instead of the
-- two values themselves; the values may later be redacted in place, and only so: the
-- user agent removed and the address removed or cut to its network (/24 for IPv4, /48
-- for IPv6). Erasing an account redacts the records about it; the `truncate-old-addresses`
-- job cuts addresses older than IP_RETENTION_DAYS. Records written before this migration
-- have no digest: their hash covers the values, and they stay as they are.
ALTER TABLE audit_events ADD COLUMN personal_digest text CHECK (personal_digest ~ '^[0-9a-f]{64}$');

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

-- The append-only trigger lets a second kind of change through: a redaction of a record
-- that has a digest, which removes the user agent and removes the address or cuts it to
-- its network, and changes nothing else (verification accepts exactly these states). The least-privilege role may UPDATE those two columns only
-- (docs/operations.md); this is what stops it from writing anything else there.
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
     AND (NEW.seq, NEW.id, NEW.occurred_at, NEW.actor_type, NEW.actor_id, NEW.action, NEW.target_type, NEW.target_id,
          NEW.outcome, NEW.request_id, NEW.details, NEW.key_id, NEW.prev_hash, NEW.hash, NEW.personal_digest)
         IS NOT DISTINCT FROM
         (OLD.seq, OLD.id, OLD.occurred_at, OLD.actor_type, OLD.actor_id, OLD.action, OLD.target_type, OLD.target_id,
          OLD.outcome, OLD.request_id, OLD.details, OLD.key_id, OLD.prev_hash, OLD.hash, OLD.personal_digest)
     AND NEW.user_agent IS NULL
     AND (NEW.ip IS NULL OR NEW.ip = audit_truncate_ip(OLD.ip)) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- audit_append() takes the digest too (migration 0003's version is replaced).
DROP FUNCTION audit_append(bigint, boolean, bigint, uuid, timestamptz, text, text, text, text, text, text, text, text, text, jsonb, text, text, text);

CREATE FUNCTION audit_append(
  p_lock_id bigint, p_defer_flush boolean,
  p_seq bigint, p_id uuid, p_occurred_at timestamptz, p_actor_type text, p_actor_id text,
  p_action text, p_target_type text, p_target_id text, p_outcome text, p_ip text,
  p_user_agent text, p_personal_digest text, p_request_id text, p_details jsonb, p_key_id text, p_prev_hash text,
  p_hash text,
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
                              outcome, ip, user_agent, personal_digest, request_id, details, key_id, prev_hash, hash)
    VALUES (p_seq, p_id, p_occurred_at, p_actor_type, p_actor_id, p_action, p_target_type, p_target_id,
            p_outcome, p_ip, p_user_agent, p_personal_digest, p_request_id, p_details, p_key_id, p_prev_hash, p_hash);
  END IF;
END;
$$;
