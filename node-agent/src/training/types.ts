import type { TrainingSettings } from '@medfed/proto';
import type { LabeledMatrix } from '../data/types.js';

/** The dense network a job trains, with the sizes resolved (feature count, class count). */
export interface TrainingArchitecture {
  readonly inputs: number;
  readonly hidden: readonly number[];
  readonly classes: number;
  readonly activation: 'relu' | 'tanh';
}

/** Rows ready for training: `x` is n*d row-major, `y` holds class indices in the job's class list. */
export type TrainingData = LabeledMatrix;

/**
 * DP-SGD parameters. `gaussian(count, sigma)` must return `count` independent N(0, sigma^2) draws;
 * the agent injects a cryptographically secure sampler. `sampling(count)` optionally supplies the
 * uniforms in [0, 1) for Poisson subsampling; without it the job-seeded generator is used, which
 * anyone who knows the seed can replay (see docs/data-and-training.md).
 */
export interface DpSgdSettings {
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly gaussian: (count: number, sigma: number) => Float64Array;
  readonly sampling?: (count: number) => Float64Array;
}

export type LocalTrainingSettings = TrainingSettings & {
  /** FedProx: adds mu/2 * ||w - w_global||^2 to the local objective. */
  readonly proximalMu?: number;
  readonly dp?: DpSgdSettings;
};

export interface LocalTrainingResult {
  readonly weights: Float32Array;
  /** Mean cross-entropy of the returned weights on the local training rows (no proximal term). */
  readonly loss: number;
  readonly accuracy: number;
  readonly numSamples: number;
  /** Optimizer steps taken. */
  readonly steps: number;
}

export interface EvaluationResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly numSamples: number;
}
