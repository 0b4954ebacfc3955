-- Core federation state: sites, jobs, rounds, contributions, models, metrics.
-- Payloads (models, updates) live in the blob store; rows hold their digests.

CREATE TABLE sites (
  id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  display_name    text NOT NULL,
  status          text NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'active', 'suspended')),
  agent_version   text,
  last_seen_at    timestamptz,
  last_status     jsonb,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
  id              text PRIMARY KEY,
  name            text NOT NULL,
  owner           text NOT NULL,
  spec            jsonb NOT NULL,
  status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
  encrypted       boolean NOT NULL DEFAULT false,
  current_round   integer NOT NULL DEFAULT 0,
  total_rounds    integer NOT NULL,
  standardization jsonb,
  strategy_state  jsonb,
  failure         text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE job_sites (
  job_id          text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  site_id         text NOT NULL REFERENCES sites(id),
  role            text NOT NULL CHECK (role IN ('trainer', 'evaluator')),
  PRIMARY KEY (job_id, site_id)
);

-- round 0 is the federated standardisation round (kind 'stats'); 1..R train; R+1 evaluates the final model.
CREATE TABLE rounds (
  job_id          text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  round           integer NOT NULL CHECK (round >= 0),
  kind            text NOT NULL CHECK (kind IN ('stats', 'train', 'evaluate')),
  status          text NOT NULL CHECK (status IN ('open', 'collecting', 'aggregating', 'closed', 'failed')),
  input_model_id  text,
  output_model_id text,
  deadline_at     timestamptz NOT NULL,
  opened_at       timestamptz NOT NULL DEFAULT now(),
  closed_at       timestamptz,
  failure         text,
  PRIMARY KEY (job_id, round)
);

CREATE TABLE contributions (
  id              text PRIMARY KEY,
  job_id          text NOT NULL,
  round           integer NOT NULL,
  site_id         text NOT NULL REFERENCES sites(id),
  num_samples     integer NOT NULL CHECK (num_samples >= 0),
  byte_size       bigint NOT NULL,
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  blob_key        text NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round) ON DELETE CASCADE,
  UNIQUE (job_id, round, site_id)
);

CREATE TABLE models (
  id              text PRIMARY KEY,
  job_id          text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  round           integer NOT NULL,
  param_count     integer NOT NULL,
  byte_size       bigint NOT NULL,
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  blob_key        text NOT NULL,
  encrypted       boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, round)
);

-- Site-reported metrics. phase 'eval' measures the model produced by round `model_round`.
CREATE TABLE metrics (
  job_id          text NOT NULL,
  round           integer NOT NULL,
  site_id         text NOT NULL REFERENCES sites(id),
  phase           text NOT NULL CHECK (phase IN ('train', 'eval')),
  model_round     integer NOT NULL,
  loss            double precision NOT NULL,
  accuracy        double precision NOT NULL CHECK (accuracy >= 0 AND accuracy <= 1),
  num_samples     integer NOT NULL CHECK (num_samples >= 0),
  reported_at     timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round) ON DELETE CASCADE,
  PRIMARY KEY (job_id, round, site_id, phase)
);

-- What each site was handed and what it is doing: the "waiting on site-b" view reads this.
CREATE TABLE site_tasks (
  job_id          text NOT NULL,
  round           integer NOT NULL,
  site_id         text NOT NULL REFERENCES sites(id),
  state           text NOT NULL CHECK (state IN ('assigned', 'submitted', 'failed')),
  detail          text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round) ON DELETE CASCADE,
  PRIMARY KEY (job_id, round, site_id)
);

CREATE INDEX rounds_open_idx ON rounds (status) WHERE status IN ('open', 'collecting');
