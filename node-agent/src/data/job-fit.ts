import type { JobSpec } from '@medfed/proto';
import { canonicalValue } from './columns.js';
import { countUsableRows, refuseDroppedRows } from './dropped-rows.js';
import { DataError } from './errors.js';
import { resolveFeatureColumns, resolveLabelColumn } from './job-features.js';
import type { DroppedColumnCount, LocalDataset, NumericColumn } from './types.js';

/** How many distinct unknown label values a refusal names. */
const NAMED_UNKNOWN_LABELS = 5;

export interface JobFitOptions {
  /** Most share of rows the job may drop; default: the dataset's (from the loader), else DEFAULT_MAX_DROPPED_SHARE. */
  readonly maxDroppedShare?: number;
}

/** What a job would use at this site: its feature columns, the usable rows and their class indices. */
export interface JobFit {
  readonly features: readonly NumericColumn[];
  readonly rows: readonly number[];
  readonly y: Int32Array;
  readonly droppedRows: number;
  readonly droppedByColumn: readonly DroppedColumnCount[];
}

/** What `medfed agent preflight --job` reports when the site's data fits a job. */
export interface DataFitReport {
  readonly rowCount: number;
  readonly usableRows: number;
  readonly droppedRows: number;
  readonly droppedByColumn: readonly DroppedColumnCount[];
}

/**
 * Every refusal of the job's data at this site except standardisation: features that are missing
 * or not numeric, a label other than the site's, labels outside the job's classes, no usable row,
 * and more dropped rows than the site accepts (see dropped-rows.ts).
 */
export function fitJob(dataset: LocalDataset, job: JobSpec, options: JobFitOptions = {}): JobFit {
  const what = `Site data does not fit job "${job.name}"`;
  const features = resolveFeatureColumns(dataset, job.features, what);
  const label = resolveLabelColumn(dataset, job.label, what);
  const classIndex = classIndexOf(job, what);
  const counted = countUsableRows(dataset, label, features);

  const unknown = new Map<string, number>();
  const y = new Int32Array(counted.rows.length);
  counted.rows.forEach((row, i) => {
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
  refuseDroppedRows(dataset, counted, what, options.maxDroppedShare);
  return { features, rows: counted.rows, y, droppedRows: counted.droppedRows, droppedByColumn: counted.droppedByColumn };
}

/** The check before round 0 (preflight): what fitJob refuses, and the counts when it fits. */
export function checkDataForJob(dataset: LocalDataset, job: JobSpec, options: JobFitOptions = {}): DataFitReport {
  const fit = fitJob(dataset, job, options);
  return { rowCount: dataset.rowCount, usableRows: fit.rows.length, droppedRows: fit.droppedRows, droppedByColumn: fit.droppedByColumn };
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
