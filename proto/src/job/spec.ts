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

export interface StrategySettings {
  readonly name: 'fedavg' | 'fedprox' | 'fedavgm';
  /** FedProx proximal weight (sites apply it in their local objective). */
  readonly mu?: number;
  /** Server learning rate and momentum for FedAvgM. */
  readonly serverLearningRate?: number;
  readonly momentum?: number;
}

export interface JobSpec {
  readonly name: string;
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
}

/** Per-feature standardisation published by the coordinator from summed site statistics. */
export interface Standardization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}
