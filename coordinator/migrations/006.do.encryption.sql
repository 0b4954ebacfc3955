-- Encrypted aggregation: the per-job key ceremony and encrypted aggregates.
-- The coordinator stores and relays wrapped keys and public parameters; it holds nothing that decrypts.

ALTER TABLE sites ADD COLUMN key_agreement_jwk jsonb;

ALTER TABLE jobs ADD COLUMN sample_counts jsonb;

-- 'weights': a plaintext model (the public initial model, plaintext jobs);
-- 'update-sum': an encrypted sum of weighted updates; 'stats-sum': an encrypted sum of feature statistics.
ALTER TABLE models ADD COLUMN kind text NOT NULL DEFAULT 'weights' CHECK (kind IN ('weights', 'update-sum', 'stats-sum'));
ALTER TABLE models ADD COLUMN total_weight double precision;
ALTER TABLE models ADD COLUMN contributors jsonb;
ALTER TABLE models DROP CONSTRAINT models_job_id_round_key;
ALTER TABLE models ADD CONSTRAINT models_job_round_kind_key UNIQUE (job_id, round, kind);

CREATE TABLE job_keys (
  job_id              text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  epoch               integer NOT NULL CHECK (epoch >= 1),
  status              text NOT NULL CHECK (status IN ('signing', 'generating', 'ready')),
  param_set           text NOT NULL,
  site_list           jsonb NOT NULL,
  signatures          jsonb NOT NULL DEFAULT '{}'::jsonb,
  generating_site     text NOT NULL,
  key_agreement_keys  jsonb NOT NULL,
  public_params       jsonb,
  wrapped_keys        jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  ready_at            timestamptz,
  PRIMARY KEY (job_id, epoch)
);
