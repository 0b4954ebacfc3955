-- The release workflow (docs/releases.md): a plaintext model leaves the sites only through a release
-- request approved by a quorum, decrypted by one site, reproduced and countersigned by a second site,
-- then signed by the coordinator as a `released-model` manifest and appended to the transparency log.

-- The released plaintext model is stored as a model row of its own kind, so that it is published
-- (manifest, log leaf, evidence, blob) exactly like every other artifact.
ALTER TABLE models DROP CONSTRAINT models_kind_check;
ALTER TABLE models ADD CONSTRAINT models_kind_check CHECK (kind IN ('weights', 'update-sum', 'stats-sum', 'released'));

CREATE TABLE releases (
  id                 text PRIMARY KEY,
  job_id             text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  round              integer NOT NULL CHECK (round >= 1),
  state              text NOT NULL CHECK (state IN ('requested', 'approved', 'decrypted', 'released', 'refused', 'failed')),
  reason             text NOT NULL,
  requested_by       text NOT NULL,
  requested_role     text NOT NULL,
  -- The model the release starts from (an encrypted round sum, or plaintext weights) and its digest.
  input_model_id     text NOT NULL REFERENCES models(id),
  input_sha256       text NOT NULL CHECK (input_sha256 ~ '^[0-9a-f]{64}$'),
  -- What approval needs: this many distinct site stewards (of these sites) plus compliance approvals.
  quorum             jsonb NOT NULL,
  -- Chosen at request time, deterministically, among the sites that hold the job key (null: plaintext job).
  decrypting_site    text,
  reproducing_site   text,
  plaintext_sha256   text CHECK (plaintext_sha256 ~ '^[0-9a-f]{64}$'),
  plaintext_size     bigint,
  plaintext_blob_key text,
  decrypt_statement  text,
  reproduce_statement text,
  released_model_id  text REFERENCES models(id),
  failure_code       text,
  failure            text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- At most one release in progress or done per job and round; refused and failed ones can be retried.
CREATE UNIQUE INDEX releases_active_round_idx ON releases (job_id, round) WHERE state NOT IN ('refused', 'failed');
CREATE INDEX releases_job_idx ON releases (job_id);

CREATE TABLE release_approvals (
  release_id   text NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  -- 'site:<id>' for a site steward's approval, 'compliance' for the compliance role's.
  capacity     text NOT NULL,
  approver     text NOT NULL,
  role         text NOT NULL,
  site_id      text,
  approved_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (release_id, capacity, approver)
);
