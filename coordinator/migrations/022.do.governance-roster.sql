-- The consortium's rule (docs/governance.md): the roster every site's steward signed, as installed on
-- this coordinator, one row per version. The highest version is the current rule. Each row keeps the
-- roster exactly as signed, its digest (SHA-256 of the signed bytes) and, for a replacement, the
-- signed approvals of a majority of the previous version's stewards. Nothing here is trusted as
-- stored: the coordinator verifies the current row (and the chain of approvals up to it) every
-- time it uses it, so a row changed in the database is refused, not obeyed.
CREATE TABLE governance_rosters (
  version integer PRIMARY KEY CHECK (version >= 1),
  consortium text NOT NULL CHECK (consortium ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  roster jsonb NOT NULL,
  digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  accepted_at timestamptz NOT NULL DEFAULT now(),
  approvals jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(approvals) = 'array')
);
