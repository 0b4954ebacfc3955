-- A release that can no longer complete ends (docs/releases.md): its requester or an admin cancels it,
-- and a site that misses its step's deadline hands the step to the next key holder.
ALTER TABLE releases DROP CONSTRAINT releases_state_check;
ALTER TABLE releases ADD CONSTRAINT releases_state_check
  CHECK (state IN ('requested', 'approved', 'decrypted', 'released', 'refused', 'failed', 'cancelled'));

-- A cancelled release frees its round for a new request, like a refused or failed one.
DROP INDEX releases_active_round_idx;
CREATE UNIQUE INDEX releases_active_round_idx ON releases (job_id, round) WHERE state NOT IN ('refused', 'failed', 'cancelled');

-- When the current site step (decrypt while approved, reproduce while decrypted) is due; null otherwise.
ALTER TABLE releases ADD COLUMN step_deadline timestamptz;
-- Every site that missed a step: [{"step": "decrypt" | "reproduce", "site": "..."}], never chosen again for that step.
ALTER TABLE releases ADD COLUMN missed_steps jsonb NOT NULL DEFAULT '[]';
ALTER TABLE releases ADD COLUMN cancelled_by text;
CREATE INDEX releases_step_deadline_idx ON releases (step_deadline) WHERE step_deadline IS NOT NULL;
