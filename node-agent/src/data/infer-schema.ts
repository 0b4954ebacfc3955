import { isMissing, looksBoolean, looksNumeric } from './cells.js';
import { isIdentifierName } from './identifiers.js';
import type { ColumnType, FieldSpec } from './types.js';

/**
 * Types and roles when no schema file is given: numeric and true/false columns are features, the
 * named label is the label, identifier-like columns (see identifiers.ts, plus string columns with
 * a distinct value on every row) are identifiers, and other string columns are ignored.
 */
export function inferFields(header: readonly string[], rows: readonly (readonly string[])[], label: string): FieldSpec[] {
  return header.map((name, column): FieldSpec => {
    const cells = presentCells(rows, column);
    const type = inferType(cells);
    if (name === label) return { name, type, role: 'label' };
    if (isIdentifierName(name)) return { name, type, role: 'identifier' };
    if (type === 'number' || type === 'boolean') return { name, type, role: cells.length > 0 ? 'feature' : 'ignored' };
    const distinctOnEveryRow = rows.length >= 2 && cells.length === rows.length && new Set(cells).size === rows.length;
    return { name, type, role: distinctOnEveryRow ? 'identifier' : 'ignored' };
  });
}

/** The type a column's present cells share: number, then boolean, else string; empty is string. */
export function inferType(cells: readonly string[]): ColumnType {
  if (cells.length === 0) return 'string';
  if (cells.every(looksNumeric)) return 'number';
  if (cells.every(looksBoolean)) return 'boolean';
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
