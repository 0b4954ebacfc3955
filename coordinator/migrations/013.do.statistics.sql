-- Federated statistics jobs (a job whose spec has kind 'statistics'): who publishes the result,
-- and the result once a site has decrypted, suppressed and signed it.
CREATE TABLE stats_results (
  job_id          text PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  query_digest    text NOT NULL CHECK (query_digest ~ '^[0-9a-f]{64}$'),
  publishing_site text NOT NULL REFERENCES sites(id),
  status          text NOT NULL CHECK (status IN ('collecting', 'publishing', 'published', 'failed')),
  sum_model_id    text,
  contributors    jsonb,
  result          jsonb,
  result_jws      text,
  published_at    timestamptz
);
