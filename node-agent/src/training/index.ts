export { initTrainingBackend, FALLBACK_BACKENDS, BACKEND_ENV, type TrainingBackend } from './backend.js';
export { architectureForJob } from './architecture.js';
export { initialWeights } from './initial-weights.js';
export { trainLocal } from './train-local.js';
export { evaluate } from './evaluate.js';
export { seededRandom, shuffleInPlace, type SeededRandom } from './prng.js';
export { TRAINING_ERRORS, TrainingError, type TrainingErrorCode } from './errors.js';
export type {
  TrainingArchitecture,
  TrainingData,
  DpSgdSettings,
  LocalTrainingSettings,
  LocalTrainingResult,
  EvaluationResult,
} from './types.js';
