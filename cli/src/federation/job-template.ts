import type { JobSpec } from '@medfed/proto';
import { describeClasses, type LocalDataset } from '@medfed/node-agent/data/index';

/** Defaults that reach the centralised baseline's accuracy on tabular clinical data in a few rounds. */
export const DEFAULT_TRAINING = {
  model: { hidden: [32], activation: 'relu' },
  training: { localEpochs: 2, batchSize: 32, learningRate: 0.01, optimizer: 'adam' },
} as const;

/** A job over every numeric, non-identifier column of a dataset, with its full class list. */
export function jobTemplate(dataset: LocalDataset, options: { name: string; rounds: number; seed: number; minSites: number }): Omit<JobSpec, 'sites' | 'evaluators'> {
  const features = dataset.columns
    .filter((c) => c.kind === 'numeric' && c.role === 'feature')
    .map((c) => c.name);
  return {
    name: options.name,
    features,
    label: dataset.label,
    classes: describeClasses(dataset, dataset.label),
    model: { hidden: [...DEFAULT_TRAINING.model.hidden], activation: DEFAULT_TRAINING.model.activation },
    training: { ...DEFAULT_TRAINING.training, seed: options.seed },
    rounds: options.rounds,
    minSites: options.minSites,
    roundDeadlineSeconds: 300,
    strategy: { name: 'fedavg' },
    standardization: 'federated',
  };
}
