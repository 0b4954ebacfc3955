-- Tamper-evident audit trail (docs/audit-format.md).
-- audit_events is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for every role, the
-- application's included. The single exception is the retention purge (coordinator/src/audit/store/purge.ts):
-- inside its own transaction it sets medfed.audit_purge_through to the last seq it purges, after having
-- written a signed truncation anchor for exactly that seq, and the trigger lets DELETE through only for
-- seq <= that bound while such an anchor exists. A purge therefore always leaves signed evidence.
-- Production: run migrations as an owner role and grant the application role only SELECT, INSERT on
-- these tables (and UPDATE on audit_head); the trigger is the guard that also holds for the owner.

CREATE TABLE audit_events (
  seq         bigint PRIMARY KEY CHECK (seq >= 1),
  at          timestamptz NOT NULL,
  action      text NOT NULL,
  actor       text NOT NULL,
  role        text NOT NULL,
  site        text,
  job         text,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
  -- The event's RFC 8785 (JCS) text: exactly the bytes the chain hash covers. The columns above are
  -- copies for filtering; verification reads only this text and the two hashes.
  event       text NOT NULL,
  prev_hash   text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_job_idx ON audit_events (job, seq) WHERE job IS NOT NULL;
CREATE INDEX audit_events_site_idx ON audit_events (site, seq) WHERE site IS NOT NULL;

-- The chain tip. Appenders lock this row FOR UPDATE, which serialises appends across connections
-- and processes while request handling itself stays concurrent (the writer batches).
CREATE TABLE audit_head (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq         bigint NOT NULL CHECK (seq >= 0),
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
INSERT INTO audit_head (singleton, seq, hash) VALUES (true, 0, repeat('0', 64));

-- Signed truncation anchors left by retention purges: seq and hash of the last purged entry.
CREATE TABLE audit_truncations (
  seq         bigint PRIMARY KEY CHECK (seq >= 1),
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  purged      bigint NOT NULL CHECK (purged >= 0),
  jws         text NOT NULL,
  purged_at   timestamptz NOT NULL,
  purged_by   text NOT NULL
);

-- Chain heads anchored as leaves of the transparency log.
CREATE TABLE audit_anchors (
  seq         bigint PRIMARY KEY CHECK (seq >= 1),
  hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  leaf_index  bigint NOT NULL CHECK (leaf_index >= 0),
  checkpoint  text,
  anchored_at timestamptz NOT NULL
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bound text := current_setting('medfed.audit_purge_through', true);
BEGIN
  -- Nested so that OLD is only read by row-level DELETE triggers.
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND bound IS NOT NULL AND bound <> '' THEN
    IF OLD.seq <= bound::bigint AND EXISTS (SELECT 1 FROM audit_truncations t WHERE t.seq = bound::bigint) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'medfed audit: % on % is refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Entries past retention are removed only by the privileged purge, which leaves a signed truncation anchor.';
END $$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_truncations_append_only BEFORE UPDATE OR DELETE ON audit_truncations
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_truncations_no_truncate BEFORE TRUNCATE ON audit_truncations
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The head only moves forward, and only onto an entry that exists with that hash.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'medfed audit: % on audit_head is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.seq <= OLD.seq OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = NEW.seq AND e.hash = NEW.hash) THEN
    RAISE EXCEPTION 'medfed audit: the chain head may only advance to an appended entry (from seq % to seq %)', OLD.seq, NEW.seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only();
