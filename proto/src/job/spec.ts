import type { StrategyName, StrategyParameterName } from '../strategy/registry.js';

/**
 * The job specification: fixed by the coordinator for every site, so that features, their order,
 * the class list and the model layout are identical everywhere. A site whose data does not match
 * refuses the task; it never re-orders or guesses.
 */
export interface ModelArchitecture {
  /** Hidden layer widths of the dense network; [] is multinomial logistic regression. */
  readonly hidden: readonly number[];
  readonly activation: 'relu' | 'tanh';
}

export interface TrainingSettings {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: 'sgd' | 'adam';
  readonly seed: number;
}

/**
 * The job's strategy: a name from the registry (proto/src/strategy/registry.ts) and that strategy's
 * numeric parameters; resolveStrategy checks them and fills in the defaults.
 */
export type StrategySettings = { readonly name: StrategyName } & { readonly [K in StrategyParameterName]?: number };

/**
 * How updates travel. Every site clips its update to `clipNorm` (L2) in both modes, so no single
 * site can dominate an aggregate; with `enabled`, the clipped, weighted update is encrypted under
 * the job's homomorphic key, which only sites hold.
 */
export interface EncryptionSettings {
  readonly enabled: boolean;
  /** HE parameter set id (proto/src/he/param-sets.ts). */
  readonly paramSet: string;
  /** Update-level L2 clipping bound (also the per-coordinate range the encoding carries). */
  readonly clipNorm: number;
  /** Fixed-point precision of encrypted updates; derived from the lane capacity when the job is created. */
  readonly fracBits: number;
}

export interface JobSpec {
  readonly name: string;
  /** `statistics`: one round of federated statistics over `statistics` (proto/src/stats); absent: training. */
  readonly kind?: 'training' | 'statistics';
  /** The query of a statistics job (validated by parseStatsQuery). */
  readonly statistics?: import('../stats/query.js').StatsQuery;
  /** Numeric feature columns, in the order the model consumes them. */
  readonly features: readonly string[];
  readonly label: string;
  /** Every class of the label, in index order. Labels are compared as strings. */
  readonly classes: readonly string[];
  readonly model: ModelArchitecture;
  readonly training: TrainingSettings;
  readonly rounds: number;
  readonly minSites: number;
  readonly roundDeadlineSeconds: number;
  readonly strategy: StrategySettings;
  /** Site ids allowed to train in this job. */
  readonly sites: readonly string[];
  /** Site ids that only evaluate (hold a test split), never train. */
  readonly evaluators?: readonly string[];
  /** `federated`: per-feature mean and variance from summed site statistics before round 1. */
  readonly standardization: 'federated' | 'none';
  /** Absent in specs written before encryption existed: read as disabled. */
  readonly encryption?: EncryptionSettings;
  /**
   * Trainer build digests admitted for this job (through the supply-chain gate). When present,
   * every update must carry an attestation naming one of them; production requires it.
   */
  readonly trainerAllowlist?: readonly string[];
  /**
   * Record-level differential privacy (DP-SGD) at every site: per-example clipping to `clipNorm`,
   * Gaussian noise of `noiseMultiplier * clipNorm`, Poisson sampling at `sampleRate` (each site
   * derives its batch from it). Each site charges the round's RDP to its own budget before training.
   */
  readonly dp?: {
    readonly noiseMultiplier: number;
    readonly clipNorm: number;
    readonly sampleRate: number;
    readonly delta: number;
  };
}

/** Per-feature standardisation published by the coordinator from summed site statistics. */
export interface Standardization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** An encrypted job's settings once its key ceremony is done (what every upload is checked against). */
export interface EncryptedSettingsForJob {
  readonly paramSet: string;
  readonly keyId: string;
  readonly epoch: number;
  readonly clipNorm: number;
  readonly fracBits: number;
  /** Most contributions one sum may hold: the number of training sites. */
  readonly maxSites: number;
}
