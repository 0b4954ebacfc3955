import { countUsableRows, refuseDroppedRows } from './dropped-rows.js';
import type { JobFitOptions } from './job-fit.js';
import { resolveFeatureColumns, resolveLabelColumn } from './job-features.js';
import type { LocalDataset } from './types.js';

/**
 * This site's share of the federated standardisation: `[n, sum_1..sum_d, sumsq_1..sumsq_d]` over
 * the rows training will use (label and every feature present). Sites send only these sums
 * (through the secure-aggregation path); the coordinator adds them element-wise and every site
 * derives the same mean and std with `standardizationFromSums`. No row or per-site mean is shared.
 * The same rows, and the same refusals for too many dropped rows, as training (prepareForJob).
 */
export function localFeatureStatistics(dataset: LocalDataset, features: readonly string[], options: JobFitOptions = {}): Float64Array {
  const what = 'Cannot compute feature statistics';
  const columns = resolveFeatureColumns(dataset, features, what);
  const label = resolveLabelColumn(dataset, dataset.label, what);
  const counted = countUsableRows(dataset, label, columns);
  refuseDroppedRows(dataset, counted, what, options.maxDroppedShare);
  const { rows } = counted;
  const d = columns.length;
  const sums = new Float64Array(1 + 2 * d);
  sums[0] = rows.length;
  columns.forEach((column, j) => {
    let sum = 0;
    let squares = 0;
    for (const row of rows) {
      const value = column.values[row]!;
      sum += value;
      squares += value * value;
    }
    sums[1 + j] = sum;
    sums[1 + d + j] = squares;
  });
  return sums;
}
