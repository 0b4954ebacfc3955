import { findColumn } from './columns.js';
import { DataError } from './errors.js';
import type { DatasetColumn, LocalDataset, NumericColumn, TextColumn } from './types.js';

/** Why a column cannot feed a job feature, by what the site holds under that name. */
function unusableReason(name: string, column: DatasetColumn | undefined, dataset: LocalDataset): string | undefined {
  if (column === undefined) return `feature "${name}" is not a column at this site`;
  if (column.kind === 'withheld') {
    if (column.role === 'identifier') return `feature "${name}" is an identifier column at this site; its values never leave the agent`;
    if (column.undeclared) return `feature "${name}" is not declared in this site's schema file`;
    return dataset.schemaSource === 'file'
      ? `feature "${name}" has role ignored in this site's schema`
      : `feature "${name}" is not numeric at this site (inferred ${column.type}), so it was not kept`;
  }
  if (column.role === 'label') return `feature "${name}" is this site's label column`;
  if (column.kind === 'text') return `feature "${name}" is a string column, not numeric`;
  if (column.type === 'date') return `feature "${name}" is a date column; models take numbers (derive one, e.g. days since an event)`;
  return undefined;
}

/** The numeric columns for `features`, in that order, or one refusal listing every problem. */
export function resolveFeatureColumns(dataset: LocalDataset, features: readonly string[], what: string): NumericColumn[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const columns: NumericColumn[] = [];
  for (const name of features) {
    if (seen.has(name)) problems.push(`feature "${name}" is listed twice`);
    seen.add(name);
    const column = findColumn(dataset, name);
    const reason = unusableReason(name, column, dataset);
    if (reason !== undefined) problems.push(reason);
    else columns.push(column as NumericColumn);
  }
  if (problems.length > 0) {
    throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: ${problems.join('; ')}.`, { problems });
  }
  return columns;
}

/** The site's label column (must be the one the dataset was loaded with). */
export function resolveLabelColumn(dataset: LocalDataset, label: string, what: string): NumericColumn | TextColumn {
  if (label !== dataset.label) {
    throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: the label is "${label}" but this site's data was loaded with label column "${dataset.label}".`);
  }
  const column = findColumn(dataset, label);
  if (column === undefined || column.kind === 'withheld') {
    throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: label column "${label}" holds no values at this site.`);
  }
  return column;
}

/** Rows whose label and every given feature are present. */
export function completeRows(label: NumericColumn | TextColumn, features: readonly NumericColumn[], rowCount: number): number[] {
  const rows: number[] = [];
  for (let row = 0; row < rowCount; row++) {
    const labelValue = label.values[row];
    if (labelValue === undefined || (typeof labelValue === 'number' && Number.isNaN(labelValue))) continue;
    if (features.every((column) => !Number.isNaN(column.values[row]!))) rows.push(row);
  }
  return rows;
}
