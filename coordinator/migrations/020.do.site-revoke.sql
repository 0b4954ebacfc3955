-- A revoked site is gone for good (a hospital leaving the consortium, a compromised node): unlike a
-- suspension it cannot be reinstated, its keys retire and its unused enrollment codes expire now.
-- Its rows stay, so past rounds, audit entries and releases still name it.
ALTER TABLE sites DROP CONSTRAINT IF EXISTS sites_status_check;
ALTER TABLE sites ADD CONSTRAINT sites_status_check CHECK (status IN ('registered', 'active', 'suspended', 'revoked'));
ALTER TABLE sites ADD COLUMN revoked_at timestamptz;
ALTER TABLE sites ADD COLUMN revoked_by text;
ALTER TABLE sites ADD COLUMN revoke_reason text CHECK (revoke_reason IS NULL OR length(revoke_reason) BETWEEN 1 AND 500);
