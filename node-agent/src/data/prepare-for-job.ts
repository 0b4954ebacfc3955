import type { JobSpec, Standardization } from '@medfed/proto';
import { DataError } from './errors.js';
import { fitJob, type JobFitOptions } from './job-fit.js';
import type { LocalDataset, PreparedData } from './types.js';

/**
 * Turns the site's table into the job's matrix. The job fixes everything: the feature list and
 * order, the class list and its index order, and (with standardisation `federated`) the mean and
 * std every site applies. Rows missing the label or any job feature, or holding a value that does
 * not parse, are dropped (complete-case; see docs/data-and-training.md) and counted per column; the
 * task is refused when more than the site's share drops (fitJob). A label outside the job's
 * classes refuses the whole task. A site without some class still trains against the full class list.
 */
export function prepareForJob(dataset: LocalDataset, job: JobSpec, standardization?: Standardization, options: JobFitOptions = {}): PreparedData {
  const scale = standardizationFor(job, standardization);
  const { features, rows, y, droppedRows, droppedByColumn } = fitJob(dataset, job, options);
  const d = features.length;
  const x = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    features.forEach((column, j) => {
      const value = column.values[row]!;
      x[i * d + j] = scale === undefined ? value : (value - scale.mean[j]!) / scale.std[j]!;
    });
  });
  return { x, y, n: rows.length, d, droppedRows, droppedByColumn };
}

function standardizationFor(job: JobSpec, standardization: Standardization | undefined): Standardization | undefined {
  const d = job.features.length;
  if (job.standardization === 'none') {
    if (standardization !== undefined) {
      throw new DataError('DATA_STANDARDIZATION_INVALID', `Job "${job.name}" has standardization "none", but standardisation statistics were supplied; refusing to guess which applies.`);
    }
    return undefined;
  }
  if (standardization === undefined) {
    throw new DataError('DATA_STANDARDIZATION_INVALID', `Job "${job.name}" uses federated standardisation; its mean and std (from the summed site statistics) are required before training.`);
  }
  if (standardization.mean.length !== d || standardization.std.length !== d) {
    throw new DataError(
      'DATA_STANDARDIZATION_INVALID',
      `Standardisation has ${standardization.mean.length} means and ${standardization.std.length} stds; job "${job.name}" has ${d} features.`,
    );
  }
  standardization.std.forEach((std, j) => {
    const mean = standardization.mean[j]!;
    if (!Number.isFinite(mean) || !Number.isFinite(std) || std <= 0) {
      throw new DataError('DATA_STANDARDIZATION_INVALID', `Standardisation for feature "${job.features[j]}" is not usable (mean ${mean}, std ${std}); std must be finite and > 0.`);
    }
  });
  return standardization;
}
