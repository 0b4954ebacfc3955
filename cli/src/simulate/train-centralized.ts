import type { JobSpec } from '@medfed/proto';
import {
  localFeatureStatistics,
  prepareForJob,
  standardizationFromSums,
  subsetDataset,
  type LocalDataset,
} from '@medfed/node-agent/data/index';
import { architectureForJob, evaluate, initialWeights, trainLocal } from '@medfed/node-agent/training/index';

export interface CentralizedInput {
  /** The pooled cohort (what no real deployment may assemble: this is the yardstick). */
  readonly dataset: LocalDataset;
  readonly trainRows: readonly number[];
  readonly testRows: readonly number[];
  /** Features, classes, model and training settings; `rounds * localEpochs` epochs are run. */
  readonly job: JobSpec;
}

export interface CentralizedResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly trainSamples: number;
  readonly testSamples: number;
  readonly weights: Float32Array;
}

/**
 * The centralised baseline a federated run is judged against: the same model, initial weights
 * and settings trained on the pooled training rows for as many epochs as the federation runs in
 * total (rounds * localEpochs), standardised with statistics of the pooled training rows (when the
 * job standardises), evaluated on the test rows.
 */
export async function trainCentralized(input: CentralizedInput): Promise<CentralizedResult> {
  const { job } = input;
  const train = subsetDataset(input.dataset, input.trainRows);
  const test = subsetDataset(input.dataset, input.testRows);
  const d = job.features.length;
  const standardization = job.standardization === 'federated' ? standardizationFromSums(localFeatureStatistics(train, job.features), d) : undefined;
  const trainData = prepareForJob(train, job, standardization);
  const testData = prepareForJob(test, job, standardization);
  const arch = architectureForJob(job);
  const start = initialWeights(arch.inputs, arch.hidden, arch.classes, job.training.seed);
  const trained = await trainLocal(arch, start, trainData, { ...job.training, localEpochs: job.rounds * job.training.localEpochs });
  const { loss, accuracy } = await evaluate(arch, trained.weights, testData);
  return { loss, accuracy, trainSamples: trainData.n, testSamples: testData.n, weights: trained.weights };
}
