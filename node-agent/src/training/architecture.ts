import type { JobSpec } from '@medfed/proto';
import type { TrainingArchitecture } from './types.js';

/** The network a job trains: one input per job feature, one output per job class. */
export function architectureForJob(job: Pick<JobSpec, 'features' | 'classes' | 'model'>): TrainingArchitecture {
  return { inputs: job.features.length, hidden: job.model.hidden, classes: job.classes.length, activation: job.model.activation };
}
