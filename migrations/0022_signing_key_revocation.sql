-- Emergency retirement of a signing key (`gatehouse keys retire-signing KID --now`): the
-- key becomes `revoked`, which is final. A revoked key is never published, never verifies
-- and never signs again (src/features/tokens/signing-keys.ts loads only next, active and
-- retired keys). The row is kept, not deleted: it records which key was withdrawn and when,
-- and its kid can never be inserted again. Its wrapped private half stays so that
-- `keys rotate-master` and backup checks treat every row alike; it is useless to anyone
-- since no instance trusts the key any more.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_state_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_state_check CHECK (state IN ('next', 'active', 'retired', 'revoked'));
ALTER TABLE signing_keys ADD COLUMN revoked_at timestamptz;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_revoked_at CHECK ((state = 'revoked') = (revoked_at IS NOT NULL));

-- Defence in depth: no code path, and no hand-written UPDATE, brings a revoked key back.
-- Re-wrapping its private half under a new master key is the only change allowed.
CREATE FUNCTION signing_keys_revocation_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS DISTINCT FROM 'revoked' OR NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'signing key % is revoked: revocation is final', OLD.kid USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER signing_keys_revocation_is_final BEFORE UPDATE ON signing_keys
  FOR EACH ROW WHEN (OLD.state = 'revoked') EXECUTE FUNCTION signing_keys_revocation_is_final();
