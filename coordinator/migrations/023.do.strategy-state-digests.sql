-- Strategies from the proto registry (proto/src/strategy). A plaintext job's strategy state
-- (momentum, moments) is an encodeServerState blob in the blob store, written before the round-close
-- transaction names it here by key and SHA-256; it is read only when a round closes and checked
-- against the digest. Encrypted jobs keep no state here: their sites hold it. The JSON column it
-- replaces goes: a plaintext job running across this migration restarts its server state from zero.
ALTER TABLE jobs ADD COLUMN strategy_state_key text CHECK (strategy_state_key IS NULL OR length(strategy_state_key) <= 256);
ALTER TABLE jobs ADD COLUMN strategy_state_sha256 text CHECK (strategy_state_sha256 IS NULL OR strategy_state_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE jobs ADD CONSTRAINT jobs_strategy_state_ref CHECK ((strategy_state_key IS NULL) = (strategy_state_sha256 IS NULL));
ALTER TABLE jobs DROP COLUMN strategy_state;

-- Eval reports carry the SHA-256 of the float32 LE bytes of the model the site measured (null when
-- the report had none: older clients of plaintext jobs).
ALTER TABLE metrics ADD COLUMN params_sha256 text CHECK (params_sha256 IS NULL OR params_sha256 ~ '^[0-9a-f]{64}$');

-- One reference digest per model round: a plaintext job's stored model (source 'coordinator'), or on
-- an encrypted job the first site's report. A report that differs stops the job (ROUND_MODEL_DIVERGED).
CREATE TABLE model_digests (
  job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  model_round integer NOT NULL CHECK (model_round >= 0),
  params_sha256 text NOT NULL CHECK (params_sha256 ~ '^[0-9a-f]{64}$'),
  source text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, model_round)
);
