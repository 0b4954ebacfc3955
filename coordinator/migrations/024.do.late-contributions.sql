-- Semi-asynchronous rounds: a contribution that counts in a later round than the one its site
-- trained for records that round here (its staleness is round - base_round); NULL for an update
-- counted in the round it was trained for.
ALTER TABLE contributions ADD COLUMN base_round integer
  CHECK (base_round IS NULL OR (base_round >= 1 AND base_round < round));
