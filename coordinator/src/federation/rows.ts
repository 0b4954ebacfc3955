import type { JobSpec, Standardization } from '@medfed/proto';

/** Row shapes as the storage layer returns them (snake_case columns, named for SQL). */
export interface SiteRow {
  id: string;
  display_name: string;
  status: 'registered' | 'active' | 'suspended' | 'revoked';
  agent_version: string | null;
  /** The protocol version its agent last announced on a served call, and when (site-versions.ts). */
  protocol_version: string | null;
  version_seen_at: Date | null;
  last_seen_at: Date | null;
  last_status: Record<string, unknown> | null;
  key_agreement_jwk: import('jose').JWK | null;
  attestation_jwk: Record<string, unknown> | null;
  created_at: Date;
}

export interface JobRow {
  id: string;
  name: string;
  owner: string;
  spec: JobSpec;
  status: 'running' | 'completed' | 'failed' | 'stopped';
  encrypted: boolean;
  current_round: number;
  total_rounds: number;
  standardization: Standardization | null;
  /** Plaintext jobs with a stateful strategy: the blob of its state after the last closed round, and its SHA-256 (migration 023). */
  strategy_state_key: string | null;
  strategy_state_sha256: string | null;
  failure: string | null;
  sample_counts: Record<string, number> | null;
  created_at: Date;
  updated_at: Date;
}

export type RoundKind = 'stats' | 'train' | 'evaluate';
export type RoundStatus = 'open' | 'collecting' | 'aggregating' | 'closed' | 'failed';

export interface RoundRow {
  job_id: string;
  round: number;
  kind: RoundKind;
  status: RoundStatus;
  input_model_id: string | null;
  output_model_id: string | null;
  deadline_at: Date;
  opened_at: Date;
  closed_at: Date | null;
  failure: string | null;
  /** When the round entered `aggregating` (null otherwise). */
  aggregating_since?: Date | null;
}

export interface ContributionRow {
  id: string;
  job_id: string;
  round: number;
  site_id: string;
  num_samples: number;
  byte_size: number;
  sha256: string;
  blob_key: string;
  /** Semi-asynchronous jobs: the round the site trained for, when the update counts in this later round (migration 024); else null. */
  base_round: number | null;
  received_at: Date;
}

export interface ModelRow {
  id: string;
  job_id: string;
  round: number;
  param_count: number;
  byte_size: number;
  sha256: string;
  blob_key: string;
  encrypted: boolean;
  /** 'released': a plaintext model that went through the release workflow (coordinator/src/releases). */
  kind: 'weights' | 'update-sum' | 'stats-sum' | 'released';
  total_weight: number | null;
  contributors: string[] | null;
  /** The key epoch an encrypted sum is under (migration 011); null or absent for plaintext models. */
  key_epoch?: number | null;
  created_at: Date;
}

export interface MetricRow {
  job_id: string;
  round: number;
  site_id: string;
  phase: 'train' | 'eval';
  model_round: number;
  loss: number;
  accuracy: number;
  num_samples: number;
  /** Eval reports: the digest of the model the site measured (null when the report had none). */
  params_sha256: string | null;
  reported_at: Date;
}
