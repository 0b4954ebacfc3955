import { canonicalValue, findColumn } from './columns.js';
import { DataError } from './errors.js';
import { looksNumeric } from './cells.js';
import type { LocalDataset } from './types.js';

/**
 * The distinct values of a label column as canonical strings (numbers as String(Number(v))),
 * sorted numerically when all are numbers, otherwise by code unit (locale-independent, so every
 * site and the coordinator agree). Tooling builds a job's class list from it.
 */
export function describeClasses(dataset: LocalDataset, label: string): string[] {
  const column = findColumn(dataset, label);
  if (column === undefined || column.kind === 'withheld') {
    throw new DataError('DATA_LABEL_MISSING', `Column "${label}" has no values at this site (columns: ${dataset.columns.map((c) => c.name).join(', ')}).`);
  }
  const values = new Set<string>();
  for (let row = 0; row < dataset.rowCount; row++) {
    const value = canonicalValue(column, row);
    if (value !== undefined) values.add(value);
  }
  const distinct = [...values];
  return distinct.every(looksNumeric) ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
