import type { NumericColumn, TextColumn, LocalDataset, DatasetColumn } from './types.js';

export function findColumn(dataset: LocalDataset, name: string): DatasetColumn | undefined {
  return dataset.columns.find((column) => column.name === name);
}

/**
 * The canonical text of a label cell, compared with the job's class list: numbers as
 * String(Number(v)) (so "1.0" and "1" agree), booleans as true/false, dates as ISO 8601,
 * strings as written. Undefined when the cell is missing.
 */
export function canonicalValue(column: NumericColumn | TextColumn, row: number): string | undefined {
  if (column.kind === 'text') return column.values[row];
  const value = column.values[row]!;
  if (Number.isNaN(value)) return undefined;
  switch (column.type) {
    case 'number':
      return String(value);
    case 'boolean':
      return value === 1 ? 'true' : 'false';
    case 'date':
      return new Date(value).toISOString();
  }
}
