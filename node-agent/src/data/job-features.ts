import { findColumn } from './columns.js';
import { DataError } from './errors.js';
import { isIdentifierName } from './identifiers.js';
import type { DatasetColumn, LocalDataset, NumericColumn, TextColumn } from './types.js';

/** Why a column cannot feed a job feature; `text` marks a column of words, the likely categorical case. */
interface Unusable {
  readonly reason: string;
  readonly text?: boolean;
}

/** What to do about a text feature today (said once per refusal, after the list of problems). */
export const CATEGORICAL_HINT =
  'A text feature such as sex (M/F) is categorical: models take numbers, so encode it in the export as 0/1 numeric columns, ' +
  'one per category (for example sex_M and sex_F), and name those in the job; categorical encoding is planned. ' +
  'If it should hold numbers, fix the cells that are not numbers (and, with a schema file, declare it type number).';

/** Why a column cannot feed a job feature, by what the site holds under that name. */
function unusable(name: string, column: DatasetColumn | undefined, dataset: LocalDataset): Unusable | undefined {
  if (column === undefined) return { reason: `feature "${name}" is not a column at this site` };
  if (column.kind === 'withheld') {
    if (column.role === 'identifier') {
      return dataset.schemaSource === 'inferred' && !isIdentifierName(name)
        ? { reason: `feature "${name}" was taken for an identifier at this site (not all of its cells are numbers and every row differs), so its values were not kept; if it is a measurement, fix the cells that are not numbers or declare it in a schema file` }
        : { reason: `feature "${name}" is an identifier column at this site; its values never leave the agent` };
    }
    if (column.undeclared) return { reason: `feature "${name}" is not declared in this site's schema file` };
    if (dataset.schemaSource === 'file') return { reason: `feature "${name}" has role ignored in this site's schema` };
    if (column.empty === true) return { reason: `feature "${name}" has no value on any row at this site` };
    return { reason: `feature "${name}" is not numeric at this site: it holds text (inferred ${column.type}), so it was not kept`, text: true };
  }
  if (column.role === 'label') return { reason: `feature "${name}" is this site's label column` };
  if (column.kind === 'text') return { reason: `feature "${name}" is not numeric: this site's schema declares it string (text)`, text: true };
  if (column.type === 'date') return { reason: `feature "${name}" is a date column; models take numbers (derive one, e.g. days since an event)` };
  return undefined;
}

/** The numeric columns for `features`, in that order, or one refusal listing every problem. */
export function resolveFeatureColumns(dataset: LocalDataset, features: readonly string[], what: string): NumericColumn[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const columns: NumericColumn[] = [];
  const text: string[] = [];
  for (const name of features) {
    if (seen.has(name)) problems.push(`feature "${name}" is listed twice`);
    seen.add(name);
    const column = findColumn(dataset, name);
    const problem = unusable(name, column, dataset);
    if (problem === undefined) columns.push(column as NumericColumn);
    else {
      problems.push(problem.reason);
      if (problem.text === true) text.push(name);
    }
  }
  if (problems.length > 0) {
    const hint = text.length > 0 ? ` ${CATEGORICAL_HINT}` : '';
    throw new DataError('DATA_SCHEMA_MISMATCH', `${what}: ${problems.join('; ')}.${hint}`, { problems, textFeatures: text });
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
