-- Key epochs (docs/crypto.md, "Key epochs"): a job's site list may change between rounds. Every
-- change (a site joins, leaves or is suspended, or an operator rotates the keys) starts a new epoch
-- with its own signed site list and its own key set, wrapped only for the sites on that list.

-- An epoch overtaken by a newer one before its keys existed never becomes ready.
ALTER TABLE job_keys DROP CONSTRAINT IF EXISTS job_keys_status_check;
ALTER TABLE job_keys ADD CONSTRAINT job_keys_status_check CHECK (status IN ('signing', 'generating', 'ready', 'superseded'));

-- Why the epoch started: the job started, a site joined or left, or an operator rotated the keys.
ALTER TABLE job_keys ADD COLUMN reason text NOT NULL DEFAULT 'JOB_START';
ALTER TABLE job_keys ADD COLUMN requested_by text;

-- Earlier epochs' keys a site of this epoch does not hold yet (a joiner): site -> [{epoch, keyId}].
-- The generating site wraps those keys for it, so it can decrypt the job's model history.
ALTER TABLE job_keys ADD COLUMN history_plan jsonb NOT NULL DEFAULT '{}'::jsonb;
-- What it sent back: site -> { "<epoch>": compact JWE }.
ALTER TABLE job_keys ADD COLUMN history_keys jsonb;

-- The epoch whose key encrypts an encrypted sum (null for plaintext models).
ALTER TABLE models ADD COLUMN key_epoch integer;

-- Manifests also cover artifacts that are not models (HE public parameters, trainer allowlists):
-- their ids live in the same per-job chain, so the id no longer always names a model row.
ALTER TABLE model_manifests DROP CONSTRAINT IF EXISTS model_manifests_model_id_fkey;
