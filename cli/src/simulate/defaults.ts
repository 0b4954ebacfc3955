import type { JobSpec, ModelArchitecture, TrainingSettings } from '@medfed/proto';
import { CLINICAL_CLASSES, CLINICAL_FEATURES, CLINICAL_LABEL } from './clinical-dataset.js';

/**
 * Defaults that keep federated averaging within 2 accuracy points of the centralised baseline on
 * an IID split and within 5 on dirichlet:0.5 (3 to 5 sites, a few thousand rows); measured by
 * cli/test/simulate/fedavg-parity.test.ts and tabulated in docs/data-and-training.md. Plain SGD
 * rather than Adam: Adam's moment estimates restart every round, which cost it far more than SGD
 * under strong label skew.
 */
export const RECOMMENDED_MODEL: ModelArchitecture = { hidden: [16], activation: 'relu' };
export const RECOMMENDED_TRAINING: Omit<TrainingSettings, 'seed'> = { localEpochs: 1, batchSize: 32, learningRate: 0.15, optimizer: 'sgd' };
export const RECOMMENDED_ROUNDS = 30;

/** A job over the generated clinical cohort with the recommended settings. */
export function clinicalJob(sites: readonly string[], seed: number, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'synthetic-cardio-risk',
    features: [...CLINICAL_FEATURES],
    label: CLINICAL_LABEL,
    classes: [...CLINICAL_CLASSES],
    model: RECOMMENDED_MODEL,
    training: { ...RECOMMENDED_TRAINING, seed },
    rounds: RECOMMENDED_ROUNDS,
    minSites: sites.length,
    roundDeadlineSeconds: 300,
    strategy: { name: 'fedavg' },
    sites,
    standardization: 'federated',
    ...overrides,
  };
}
