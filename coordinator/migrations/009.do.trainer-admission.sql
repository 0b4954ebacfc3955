-- Trainer builds admitted to a job's allowlist through the supply-chain gate, with the gate's decision.
CREATE TABLE job_trainers (
  job_id        text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  measurement   text NOT NULL CHECK (measurement ~ '^[0-9a-f]{64}$'),
  artifact_digest text NOT NULL,
  decision      jsonb NOT NULL,
  admitted_by   text NOT NULL,
  admitted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, measurement)
);
