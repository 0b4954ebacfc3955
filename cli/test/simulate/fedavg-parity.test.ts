import { describe, it, expect, beforeAll } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import {
  datasetFromRows,
  localFeatureStatistics,
  prepareForJob,
  standardizationFromSums,
  subsetDataset,
  type LocalDataset,
} from '@medfed/node-agent/data/index';
import { architectureForJob, evaluate, initialWeights, trainLocal } from '@medfed/node-agent/training/index';
import { generateClinicalDataset } from '../../src/simulate/clinical-dataset.js';
import { clinicalJob } from '../../src/simulate/defaults.js';
import { partition } from '../../src/simulate/partition.js';
import { stratifiedSplit } from '../../src/simulate/stratified-split.js';
import { trainCentralized } from '../../src/simulate/train-centralized.js';

const ROWS = 4000;
const SITES = 4;
const SEED = 3;

/**
 * FedAvg in process, as the coordinator runs it: sites sum their feature statistics, every site
 * standardises with the mean/std derived from the sum, then each round every site trains from the
 * global weights and the new global model is the sample-weighted average of the site weights.
 */
async function federatedAccuracy(dataset: LocalDataset, trainRows: number[], testRows: number[], scheme: string, job: JobSpec): Promise<number> {
  const labels = trainRows.map((row) => {
    const column = dataset.columns.find((c) => c.name === job.label);
    return column?.kind === 'text' ? column.values[row]! : '';
  });
  const sites = partition({ labels }, SITES, scheme, SEED).map((rows) => subsetDataset(dataset, rows.map((i) => trainRows[i]!)));
  const d = job.features.length;
  const summed = new Float64Array(1 + 2 * d);
  for (const site of sites) localFeatureStatistics(site, job.features).forEach((value, i) => (summed[i]! += value));
  const standardization = standardizationFromSums(summed, d);
  const siteData = sites.map((site) => prepareForJob(site, job, standardization));
  const arch = architectureForJob(job);
  let global = initialWeights(arch.inputs, arch.hidden, arch.classes, job.training.seed);
  for (let round = 0; round < job.rounds; round++) {
    const updates = [];
    for (const [site, data] of siteData.entries()) {
      updates.push(await trainLocal(arch, global, data, { ...job.training, seed: job.training.seed + 1000 * (round + 1) + site }));
    }
    const total = updates.reduce((sum, u) => sum + u.numSamples, 0);
    const next = new Float32Array(global.length);
    for (const update of updates) {
      const weight = update.numSamples / total;
      update.weights.forEach((value, i) => (next[i]! += weight * value));
    }
    global = next;
  }
  const test = prepareForJob(subsetDataset(dataset, testRows), job, standardization);
  return (await evaluate(arch, global, test)).accuracy;
}

describe('FedAvg with the recommended defaults', () => {
  const table = generateClinicalDataset(ROWS, SEED);
  const dataset = datasetFromRows(table.header, table.rows, { label: 'risk' });
  const split = stratifiedSplit(table.rows.map((row) => row[row.length - 1]!), 0.2, SEED);
  const job = clinicalJob(['a', 'b', 'c', 'd'], SEED);
  let centralized = 0;

  beforeAll(async () => {
    centralized = (await trainCentralized({ dataset, trainRows: split.train, testRows: split.test, job })).accuracy;
    expect(centralized).toBeGreaterThan(0.8);
  });

  it('ends within 2 accuracy points of the centralised baseline on an IID split', async () => {
    const federated = await federatedAccuracy(dataset, split.train, split.test, 'iid', job);
    process.stdout.write(`fedavg parity iid: centralised ${(100 * centralized).toFixed(2)}%, federated ${(100 * federated).toFixed(2)}%\n`);
    expect(centralized - federated).toBeLessThanOrEqual(0.02);
  });

  it('ends within 5 accuracy points of the centralised baseline on dirichlet:0.5', async () => {
    const federated = await federatedAccuracy(dataset, split.train, split.test, 'dirichlet:0.5', job);
    process.stdout.write(`fedavg parity dirichlet:0.5: centralised ${(100 * centralized).toFixed(2)}%, federated ${(100 * federated).toFixed(2)}%\n`);
    expect(centralized - federated).toBeLessThanOrEqual(0.05);
  });
});
