-- The publish step of a statistics query has a deadline: the chosen site has until publish_deadline_at,
-- then the task passes to the next site that answered; publish_missed lists the sites that let it lapse.
ALTER TABLE stats_results
  ADD COLUMN publish_deadline_at timestamptz,
  ADD COLUMN publish_missed jsonb NOT NULL DEFAULT '[]'::jsonb;
-- A query already waiting on its publisher gets a full deadline from now, as a fresh handover would.
UPDATE stats_results sr
   SET publish_deadline_at = now() + make_interval(secs => (j.spec->>'roundDeadlineSeconds')::double precision)
  FROM jobs j
 WHERE j.id = sr.job_id AND sr.status = 'publishing';
