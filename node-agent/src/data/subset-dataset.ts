import type { DatasetColumn, LocalDataset, UnparsableCells } from './types.js';

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
      case 'numeric': {
        const values = Float64Array.from(rows, (row) => column.values[row]!);
        const unparsable = column.unparsable === undefined ? undefined : subsetCells(column.unparsable, rows);
        const { unparsable: _dropped, ...rest } = column;
        return unparsable === undefined ? { ...rest, values } : { ...rest, values, unparsable };
      }
    }
  });
  const lineNumbers = rows.map((row) => dataset.lineNumbers?.[row] ?? row + 2);
  return { ...dataset, rowCount: rows.length, columns, lineNumbers };
}

/** The unparsable cells among `rows`, renumbered; their texts where the original kept them. */
function subsetCells(cells: UnparsableCells, rows: readonly number[]): UnparsableCells | undefined {
  const bad = new Set(cells.rows);
  const kept: number[] = [];
  const samples = new Map<number, string>();
  rows.forEach((row, i) => {
    if (!bad.has(row)) return;
    kept.push(i);
    const sample = cells.samples.get(row);
    if (sample !== undefined) samples.set(i, sample);
  });
  return kept.length === 0 ? undefined : { rows: Uint32Array.from(kept).sort(), samples };
}
