import type { JobSpec, Standardization } from '@medfed/proto';
import { canonicalValue } from './columns.js';
import { DataError } from './errors.js';
import { completeRows, resolveFeatureColumns, resolveLabelColumn } from './job-features.js';
import type { LocalDataset, PreparedData } from './types.js';

/** How many distinct unknown label values a refusal names. */
const NAMED_UNKNOWN_LABELS = 5;

/**
 * Turns the site's table into the job's matrix. The job fixes everything: the feature list and
 * order, the class list and its index order, and (with standardisation `federated`) the mean and
 * std every site applies. Rows missing the label or any job feature are dropped (complete-case;
 * see docs/data-and-training.md); a label outside the job's classes refuses the whole task. A site
 * without some class still trains against the full class list.
 */
export function prepareForJob(dataset: LocalDataset, job: JobSpec, standardization?: Standardization): PreparedData {
  const what = `Site data does not fit job "${job.name}"`;
  const features = resolveFeatureColumns(dataset, job.features, what);
  const label = resolveLabelColumn(dataset, job.label, what);
  const classIndex = classIndexOf(job, what);
  const scale = standardizationFor(job, standardization);

  const rows = completeRows(label, features, dataset.rowCount);
  const unknown = new Map<string, number>();
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    const value = canonicalValue(label, row)!;
    const index = classIndex.get(value);
    if (index === undefined) unknown.set(value, (unknown.get(value) ?? 0) + 1);
    else y[i] = index;
  });
  if (unknown.size > 0) {
    const named = [...unknown].slice(0, NAMED_UNKNOWN_LABELS).map(([value, count]) => `${JSON.stringify(value)} (${count} rows)`);
    const more = unknown.size > NAMED_UNKNOWN_LABELS ? ` and ${unknown.size - NAMED_UNKNOWN_LABELS} more` : '';
    throw new DataError(
      'DATA_SCHEMA_MISMATCH',
      `${what}: label "${job.label}" has values outside the job's classes [${job.classes.join(', ')}]: ${named.join(', ')}${more}.`,
      { unknownLabels: [...unknown.keys()].slice(0, NAMED_UNKNOWN_LABELS) },
    );
  }
  if (rows.length === 0) {
    throw new DataError('DATA_NO_USABLE_ROWS', `${what}: none of the ${dataset.rowCount} rows has the label and all ${features.length} job features present.`);
  }

  const d = features.length;
  const x = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    features.forEach((column, j) => {
      const value = column.values[row]!;
      x[i * d + j] = scale === undefined ? value : (value - scale.mean[j]!) / scale.std[j]!;
    });
  });
  return { x, y, n: rows.length, d, droppedRows: dataset.rowCount - rows.length };
}

function classIndexOf(job: JobSpec, what: string): Map<string, number> {
  const index = new Map<string, number>();
  job.classes.forEach((name, i) => {
    if (index.has(name)) throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: the job lists class "${name}" twice.`);
    index.set(name, i);
  });
  if (index.size < 2) throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: the job lists ${index.size} class(es); a classifier needs at least 2.`);
  return index;
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
