export { seededRandom, shuffleInPlace, normal, bernoulli, gamma, dirichlet, type SeededRandom } from './random.js';
export {
  generateClinicalDataset,
  CLINICAL_LABEL,
  CLINICAL_CLASSES,
  CLINICAL_FEATURES,
  type GeneratedTable,
} from './clinical-dataset.js';
export { toCsv, writeCsv } from './csv.js';
export { stratifiedSplit } from './stratified-split.js';
export { parsePartitionScheme, type PartitionScheme } from './partition-scheme.js';
export { partition, type PartitionInput, type PartitionOptions } from './partition.js';
export { trainCentralized, type CentralizedInput, type CentralizedResult } from './train-centralized.js';
export { clinicalJob, RECOMMENDED_MODEL, RECOMMENDED_TRAINING, RECOMMENDED_ROUNDS } from './defaults.js';
export { SIMULATE_ERRORS, SimulateError, type SimulateErrorCode } from './errors.js';
