-- Identity and access (docs/auth.md): site keys, enrollment codes, API keys, sessions, and the replay
-- cache of DPoP proofs and client assertions. Secrets are never stored: codes and API-key secrets are
-- kept as SHA-256 hashes (they carry 100+ bits of randomness, so a fast hash is enough).

-- Each site's public keys. Exactly one is active; its RFC 7638 thumbprint is the node's identity and
-- every node token is bound to it (cnf.jkt). Rotation or re-enrollment retires the previous key, which
-- cuts off every token bound to it at once.
CREATE TABLE auth_site_keys (
  jkt          text PRIMARY KEY CHECK (jkt ~ '^[A-Za-z0-9_-]{43}$'),
  site_id      text NOT NULL REFERENCES sites(id),
  public_jwk   jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('active', 'retired')),
  source       text NOT NULL CHECK (source IN ('enrollment', 'rotation')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz
);
CREATE UNIQUE INDEX auth_site_keys_one_active ON auth_site_keys (site_id) WHERE status = 'active';

-- One-time enrollment codes: single use (used_at), expiring within 24 h.
CREATE TABLE auth_enrollment_codes (
  id           text PRIMARY KEY,
  site_id      text NOT NULL REFERENCES sites(id),
  code_hash    text NOT NULL UNIQUE CHECK (code_hash ~ '^[0-9a-f]{64}$'),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  used_by_jkt  text,
  CHECK (expires_at <= created_at + interval '24 hours')
);

-- People's API keys: shown once, stored hashed, expiring, revocable.
CREATE TABLE auth_api_keys (
  id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role         text NOT NULL CHECK (role IN ('admin', 'site-steward', 'researcher', 'clinician', 'auditor')),
  site_id      text REFERENCES sites(id),
  secret_hash  text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  CHECK ((role IN ('site-steward', 'clinician')) = (site_id IS NOT NULL))
);

-- A session per login (API key or OpenID Connect). Tokens name their session (sid); a session idle for
-- longer than the configured limit (15 min by default) ends and refuses further tokens and requests.
CREATE TABLE auth_sessions (
  id               text PRIMARY KEY,
  subject          text NOT NULL,
  role             text NOT NULL,
  site_id          text,
  source           text NOT NULL CHECK (source IN ('api-key', 'oidc')),
  api_key_id       text REFERENCES auth_api_keys(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  ended_at         timestamptz,
  end_reason       text
);
CREATE INDEX auth_sessions_api_key_idx ON auth_sessions (api_key_id) WHERE ended_at IS NULL;

-- Replay cache: a DPoP proof or client assertion is accepted once. Rows expire with the proof.
CREATE TABLE auth_replay (
  token_type   text NOT NULL CHECK (token_type IN ('DPoP', 'client-assertion')),
  jti          text NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (token_type, jti)
);
CREATE INDEX auth_replay_expiry_idx ON auth_replay (expires_at);
