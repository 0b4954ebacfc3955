import { describe, it, expect, beforeAll } from '@jest/globals';
import { applyServerStep, DEFAULT_UPDATE_PARAM_SET, FixedPointMean, resolveStrategy, type JobSpec } from '@medfed/proto';
import { fracBitsFor } from '@medfed/coordinator/federation/key-ceremony';
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
 * FedAvg in process, with the definition the coordinator and the sites run (proto's registry):
 * sites sum their feature statistics, every site standardises with the mean/std derived from the
 * sum, then each round every site trains from the global weights, the deltas are combined by
 * FixedPointMean at the fracBits an encrypted job of these sites gets, and FedAvg's server step
 * applies the mean delta.
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
  const fedavg = resolveStrategy({ name: 'fedavg' }, { encrypted: true });
  const fracBits = fracBitsFor(DEFAULT_UPDATE_PARAM_SET, 5, SITES);
  let global = initialWeights(arch.inputs, arch.hidden, arch.classes, job.training.seed);
  for (let round = 0; round < job.rounds; round++) {
    const updates = [];
    for (const [site, data] of siteData.entries()) {
      updates.push(await trainLocal(arch, global, data, { ...job.training, seed: job.training.seed + 1000 * (round + 1) + site }));
    }
    const total = updates.reduce((sum, u) => sum + u.numSamples, 0);
    const mean = new FixedPointMean(global.length, fracBits);
    let totalWeight = 0;
    for (const update of updates) {
      const weight = update.numSamples / total;
      mean.add(update.weights.map((value, i) => value - global[i]!), weight);
      totalWeight += weight;
    }
    global = applyServerStep(fedavg, global, mean.mean(totalWeight), null).global;
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
