-- The privileged retention path (docs/compliance.md, "Retention and purge").
-- The application role holds only SELECT, INSERT on audit_events and no write on audit_truncations, so
-- it can neither delete entries nor forge an anchor. Purging goes through this one function, which
-- runs with its owner's rights (SECURITY DEFINER) and can only do what a purge is: record the signed
-- truncation anchor for the last purged entry, then delete the chain's prefix up to exactly that entry.
-- It cannot delete from the middle or the end of the chain, nor without leaving the anchor; ordinary
-- UPDATE and DELETE stay refused by the append-only trigger for every role. The coordinator signs the
-- anchor and enforces the retention period before calling it.
-- Production: run migrations as the owner role, then
--   GRANT EXECUTE ON FUNCTION medfed_audit_purge(bigint, text, bigint, text, timestamptz, text) TO <application role>;

CREATE FUNCTION medfed_audit_purge(p_through bigint, p_hash text, p_count bigint, p_jws text, p_purged_at timestamptz, p_by text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  first_seq bigint;
  deleted bigint;
BEGIN
  SELECT min(seq) INTO first_seq FROM audit_events;
  IF first_seq IS NULL OR p_through < first_seq THEN
    RAISE EXCEPTION 'medfed audit purge: nothing to purge through seq %', p_through USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = p_through AND hash = p_hash) THEN
    RAISE EXCEPTION 'medfed audit purge: the anchor names seq % with a hash the chain does not hold', p_through USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_count <> p_through - first_seq + 1 OR p_jws IS NULL OR p_jws !~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' THEN
    RAISE EXCEPTION 'medfed audit purge: the anchor must be a compact JWS over exactly the purged range' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO audit_truncations (seq, hash, purged, jws, purged_at, purged_by) VALUES (p_through, p_hash, p_count, p_jws, p_purged_at, p_by);
  PERFORM set_config('medfed.audit_purge_through', p_through::text, true);
  DELETE FROM audit_events WHERE seq <= p_through;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('medfed.audit_purge_through', '', true);
  IF deleted <> p_count THEN
    RAISE EXCEPTION 'medfed audit purge: expected to purge % entries but found %: the chain has gaps', p_count, deleted USING ERRCODE = 'data_corrupted';
  END IF;
  RETURN deleted;
END $$;

REVOKE ALL ON FUNCTION medfed_audit_purge(bigint, text, bigint, text, timestamptz, text) FROM PUBLIC;
