-- A site steward's approval of a release is a signature (docs/releases.md): a compact JWS of typ
-- medfed-steward-approval+jws, signed with the steward key that site holds, over the release's
-- job, id, round and input digest. The agents that decrypt and countersign verify a majority of these
-- against the keys they pinned; the coordinator keeps them and hands them to those agents.

-- The JWS itself (null for the compliance role, and for approvals recorded before signatures).
ALTER TABLE release_approvals ADD COLUMN approval text CHECK (approval IS NULL OR length(approval) <= 4096);
-- The RFC 7638 thumbprint of the key that signed it, and when it stops counting.
ALTER TABLE release_approvals ADD COLUMN approval_key text;
ALTER TABLE release_approvals ADD COLUMN approval_expires_at timestamptz;
-- True when the coordinator verified the signature with the steward key that site used for the
-- job's site list; false when it knew no key for that site (the agents' check is the one that counts).
ALTER TABLE release_approvals ADD COLUMN approval_key_checked boolean NOT NULL DEFAULT false;
