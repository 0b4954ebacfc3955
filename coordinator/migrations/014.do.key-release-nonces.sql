-- Key-release nonces (docs/sandbox.md, "Key release"): a site fetching an encrypted job's wrapped key
-- attests with a fresh nonce bound to (job, key epoch, site). They live next to the training nonces
-- but in their own scope: `purpose` is part of the scope, so a training nonce cannot be spent on a key
-- release (nor the other way round), and issuing one kind never supersedes the other. For key-release
-- nonces `round` holds the key epoch.
ALTER TABLE attestation_nonces
  ADD COLUMN purpose text NOT NULL DEFAULT 'training' CHECK (purpose IN ('training', 'key-release'));
DROP INDEX attestation_nonces_scope_idx;
CREATE INDEX attestation_nonces_scope_idx ON attestation_nonces (job_id, round, site_id, purpose);
