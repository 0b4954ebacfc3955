import type { JobSpec } from '@medfed/proto';

/** A job over `features` with classes low/medium/high (override what a test needs). */
export function job(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'cardio-risk',
    features: ['age', 'bmi'],
    label: 'outcome',
    classes: ['low', 'medium', 'high'],
    model: { hidden: [8], activation: 'relu' },
    training: { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
    rounds: 3,
    minSites: 2,
    roundDeadlineSeconds: 60,
    strategy: { name: 'fedavg' },
    sites: ['a', 'b'],
    standardization: 'none',
    ...overrides,
  };
}
