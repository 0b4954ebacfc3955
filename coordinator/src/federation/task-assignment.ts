import type { EncryptedSettingsForJob, HePublicParams, JobSpec, Standardization } from '@medfed/proto';
import type { KeyTask } from './key-ceremony.js';
import type { SiteDuty } from './participants.js';
import type { ModelRow } from './rows.js';

/** What the coordinator hands a site: the engine builds it, the gRPC service turns it into a Task. */
export interface TaskAssignment {
  jobId: string;
  round: number;
  /** What the site is asked to do: its duty in the round, or a key-ceremony or statistics-job step. */
  duty: TaskDuty;
  spec: JobSpec;
  standardization: Standardization | null;
  modelId: string | null;
  modelSha256: string | null;
  modelRound: number;
  deadline: Date;
  updateLength: number;
  /** Training tasks of jobs with a trainer allowlist: the nonce the update's attestation must carry. */
  attestationNonce?: string;
  /** For encrypted jobs before their keys exist: the ceremony step this site must do. */
  keyTask?: KeyTask;
  /** For encrypted jobs: what the upload must look like, and this site's weight. */
  encryption?: EncryptedSettingsForJob & {
    weight: number;
    /** The epoch's public parameters and their signed `he-public-params` manifest (with publishing), checked by the agent before use. */
    publicParams?: HePublicParams;
    publicParamsManifest?: string;
  };
  /**
   * For encrypted jobs: the public initial model followed by every encrypted round sum so far; a
   * site reconstructs the global model from it (and caches what it already decrypted).
   */
  modelChain?: ChainLink[];
  /** For encrypted jobs after the statistics round: the encrypted sum of feature statistics. */
  statsSum?: ChainLink;
}

/**
 * Every kind of task the coordinator hands out (one task kind on the wire each). `stats` is the
 * round-0 feature statistics of a training job's standardisation; a statistics job's sites get
 * `stats-query` (answer the query) and its publishing site `stats-publish`.
 */
export type TaskDuty = SiteDuty | 'keys' | 'stats-query' | 'stats-publish';

export interface ChainLink {
  modelId: string;
  round: number;
  sha256: string;
  kind: ModelRow['kind'];
  totalWeight: number | null;
  contributors: string[] | null;
  /** Encrypted sums: the key epoch (and its key id) the sum is encrypted under. */
  epoch?: number;
  keyId?: string;
}
