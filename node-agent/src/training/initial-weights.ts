import { initialWeights as sharedInitialWeights } from '@medfed/proto/job/initial-weights';
import { TrainingError } from './errors.js';
import { assertArchitecture } from './validate.js';

/**
 * Deterministic round-0 weights in the shared layout: Glorot-uniform kernels
 * (U(-l, l), l = sqrt(6 / (fanIn + fanOut))) and zero biases from the seed. It is the generator in
 * `@medfed/proto`, so the coordinator, every site and the centralised baseline start identically;
 * this wrapper only refuses impossible architectures first.
 */
export function initialWeights(inputs: number, hidden: readonly number[], classes: number, seed: number): Float32Array {
  assertArchitecture({ inputs, hidden, classes, activation: 'relu' });
  if (!Number.isSafeInteger(seed)) {
    throw new TrainingError('TRAINING_SETTINGS_INVALID', `seed must be a safe integer, got ${String(seed)}.`);
  }
  return sharedInitialWeights(inputs, hidden, classes, seed);
}
