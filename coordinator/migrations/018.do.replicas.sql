-- One leader among coordinator replicas sharing this database (docs/operations.md, "Replicas").
-- `epoch` is the fencing token: every write transaction of the leader re-reads it FOR SHARE and
-- refuses to go on when another replica has taken the lease since (coordinator/src/ha/fenced-db.ts).
CREATE TABLE coordinator_lease (
  name         text PRIMARY KEY,
  holder       text,
  epoch        bigint NOT NULL DEFAULT 0,
  expires_at   timestamptz NOT NULL DEFAULT '-infinity',
  leader_grpc  text,
  leader_rest  text,
  acquired_at  timestamptz
);
INSERT INTO coordinator_lease (name) VALUES ('leader');

-- The coordinator's key files (signing keys, log key, bootstrap admin key), so that every replica
-- uses the one set created by whichever replica started first. Readable by the coordinator's role
-- only, like its key directory.
CREATE TABLE coordinator_key_files (
  path        text PRIMARY KEY,
  content     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- When a round entered 'aggregating': a round that cannot be closed within the bound fails.
ALTER TABLE rounds ADD COLUMN aggregating_since timestamptz;
