import { DEFAULT_UPDATE_PARAM_SET, type JobSpec, type StrategySettings } from '@medfed/proto';
import { describeClasses, type LocalDataset } from '@medfed/node-agent/data/index';
import { RECOMMENDED_MODEL, RECOMMENDED_TRAINING } from '../simulate/defaults.js';

export interface JobTemplateOptions {
  name: string;
  rounds: number;
  seed: number;
  minSites: number;
  encrypted: boolean;
  /** The strategy block (checked by resolveStrategy before the job is built); default FedAvg. */
  strategy?: StrategySettings;
}

/** A job over every numeric, non-identifier column of a dataset, with its full class list. */
export function jobTemplate(dataset: LocalDataset, options: JobTemplateOptions): Omit<JobSpec, 'sites' | 'evaluators'> {
  const features = dataset.columns
    .filter((c) => c.kind === 'numeric' && c.role === 'feature')
    .map((c) => c.name);
  return {
    name: options.name,
    features,
    label: dataset.label,
    classes: describeClasses(dataset, dataset.label),
    model: RECOMMENDED_MODEL,
    training: { ...RECOMMENDED_TRAINING, seed: options.seed },
    rounds: options.rounds,
    minSites: options.minSites,
    roundDeadlineSeconds: 300,
    strategy: options.strategy ?? { name: 'fedavg' },
    standardization: 'federated',
    encryption: { enabled: options.encrypted, paramSet: DEFAULT_UPDATE_PARAM_SET, clipNorm: 5, fracBits: 0 },
  };
}
