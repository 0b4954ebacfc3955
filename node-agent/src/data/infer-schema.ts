import { isMissing, looksBoolean, looksNumeric } from './cells.js';
import { isIdentifierName } from './identifiers.js';
import type { ColumnType, FieldSpec } from './types.js';

/**
 * Types and roles when no schema file is given: numeric and true/false columns are features, the
 * named label is the label, identifier-like columns (see identifiers.ts, plus string columns with
 * a distinct value on every row) are identifiers, and other string columns are ignored.
 *
 * A feature column is typed by most of its cells, so one typo (`12O`) does not turn a numeric
 * column into an ignored text one: its odd cells are read as missing and reported per job. The
 * label keeps the strict rule: an odd label value is refused by name against the job's classes.
 */
export function inferFields(header: readonly string[], rows: readonly (readonly string[])[], label: string): FieldSpec[] {
  return header.map((name, column): FieldSpec => {
    const cells = presentCells(rows, column);
    if (name === label) return { name, type: inferType(cells), role: 'label' };
    const type = inferFeatureType(cells);
    if (isIdentifierName(name)) return { name, type, role: 'identifier' };
    const clean = type !== 'string' && inferType(cells) === type;
    if (clean) return { name, type, role: 'feature' };
    // Not cleanly typed and different on every row: more likely a record code than a measurement.
    const distinctOnEveryRow = rows.length >= 2 && cells.length === rows.length && new Set(cells).size === rows.length;
    if (distinctOnEveryRow) return { name, type: 'string', role: 'identifier' };
    return { name, type, role: type === 'string' ? 'ignored' : 'feature' };
  });
}

/** The type a column's present cells share: number, then boolean, else string; empty is string. */
export function inferType(cells: readonly string[]): ColumnType {
  if (cells.length === 0) return 'string';
  if (cells.every(looksNumeric)) return 'number';
  if (cells.every(looksBoolean)) return 'boolean';
  return 'string';
}

/** As inferType, but number (or boolean) when more than half the present cells are; the rest are then unparsable. */
export function inferFeatureType(cells: readonly string[]): ColumnType {
  const strict = inferType(cells);
  if (strict !== 'string') return strict;
  const majority = (count: number): boolean => count * 2 > cells.length;
  if (majority(cells.filter(looksNumeric).length)) return 'number';
  if (majority(cells.filter(looksBoolean).length)) return 'boolean';
  return 'string';
}

function presentCells(rows: readonly (readonly string[])[], column: number): string[] {
  const cells: string[] = [];
  for (const row of rows) {
    const cell = row[column] ?? '';
    if (!isMissing(cell)) cells.push(cell);
  }
  return cells;
}
