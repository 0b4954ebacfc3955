-- Signed model distribution (docs/transparency-log.md): every artifact the coordinator hands to sites
-- (initial model, encrypted round sums, plaintext development models, statistics sums) gets a signed
-- manifest, chained per job and appended to the transparency log. The manifest row is written in the
-- same transaction as the model row; the log append follows the commit (leaf_index NULL until then).
CREATE TABLE model_manifests (
  model_id     text PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
  job_id       text NOT NULL,
  -- Position in the job's manifest chain (0 for the first); previous_digest names chain_seq - 1.
  chain_seq    integer NOT NULL CHECK (chain_seq >= 0),
  round        integer NOT NULL,
  kind         text NOT NULL,
  -- The compact JWS, exactly the bytes of the log leaf.
  jws          text NOT NULL,
  -- SHA-256 (hex) of the JWS: the next manifest's previousManifest.
  digest       text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  leaf_index   bigint CHECK (leaf_index >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, chain_seq)
);
CREATE INDEX model_manifests_pending_idx ON model_manifests (created_at) WHERE leaf_index IS NULL;

-- Each site's witness verifier key (C2SP signed-note vkey, type 0x04), sent at Enroll.
CREATE TABLE site_witness_keys (
  site_id     text PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
  vkey        text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
