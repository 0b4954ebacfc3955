import type { DatasetColumn, LocalDataset } from './types.js';

/** The dataset restricted to `rows` (indices into it, in the given order); used for splits. */
export function subsetDataset(dataset: LocalDataset, rows: readonly number[]): LocalDataset {
  for (const row of rows) {
    if (!Number.isInteger(row) || row < 0 || row >= dataset.rowCount) {
      throw new RangeError(`Row index ${row} is outside 0..${dataset.rowCount - 1}.`);
    }
  }
  const columns = dataset.columns.map((column): DatasetColumn => {
    switch (column.kind) {
      case 'withheld':
        return column;
      case 'text':
        return { ...column, values: rows.map((row) => column.values[row]) };
      case 'numeric':
        return { ...column, values: Float64Array.from(rows, (row) => column.values[row]!) };
    }
  });
  return { ...dataset, rowCount: rows.length, columns };
}
