-- Attestation nonces (docs/sandbox.md, "Attestation"): the coordinator hands each (job, round, site) a
-- fresh random nonce; the node's attestation for that round's update must carry it, and it is
-- consumed exactly once. Issuing a new nonce for the same scope supersedes the unconsumed one.
-- A verdict needs only this row: consumed_at set = replay, superseded_at set or expires_at past = stale.
CREATE TABLE attestation_nonces (
  nonce          text PRIMARY KEY CHECK (nonce ~ '^[A-Za-z0-9_-]{43}$'),
  job_id         text NOT NULL CHECK (length(job_id) BETWEEN 1 AND 128),
  round          integer NOT NULL CHECK (round >= 0),
  site_id        text NOT NULL CHECK (site_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  issued_at      timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL CHECK (expires_at > issued_at),
  superseded_at  timestamptz,
  consumed_at    timestamptz,
  CHECK (consumed_at IS NULL OR superseded_at IS NULL)
);
CREATE INDEX attestation_nonces_scope_idx ON attestation_nonces (job_id, round, site_id);
CREATE INDEX attestation_nonces_expiry_idx ON attestation_nonces (expires_at);
