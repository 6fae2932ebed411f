-- Audit records can only be added at the head of the chain. The application role needs
-- INSERT on audit_events (every append is one), and verification walks forward from
-- the newest checkpoint (or from seq 0), so a row written below that point (seq <= 0,
-- or a seq a prune freed) would be shown by the readers yet never verified. Each new
-- row must take the seq right after the current head (after the newest checkpoint when
-- the table is empty). audit_append() appends under the chain lock, so this always holds
-- for it; a forged row at the head is still caught by its hash.
CREATE FUNCTION audit_events_check_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head bigint;
BEGIN
  SELECT max(e.seq) INTO head FROM audit_events e;
  IF head IS NULL THEN
    SELECT max(c.through_seq) INTO head FROM audit_checkpoints c;
  END IF;
  IF NEW.seq IS DISTINCT FROM COALESCE(head, 0) + 1 THEN
    RAISE EXCEPTION 'audit_events only grows at its head' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_events_append_at_head
  BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_check_append();
