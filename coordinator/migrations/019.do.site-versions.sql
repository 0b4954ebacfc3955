-- What each site's agent last announced on a call the coordinator served (docs/operations.md, "Versions across
-- sites"): its protocol version (MAJOR.MINOR) and when; `agent_version` holds the medfed release it announced.
ALTER TABLE sites ADD COLUMN protocol_version text;
ALTER TABLE sites ADD COLUMN version_seen_at timestamptz;
