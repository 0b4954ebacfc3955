import type { ColumnType } from './types.js';

/** Cell texts read as "no value" in any column (compared case-insensitively, after trimming). */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?']);

/** Boolean spellings and their numeric value. 1/0 also parse as numbers, which inference prefers. */
const BOOLEAN_VALUES: Readonly<Record<string, number>> = { true: 1, false: 0, yes: 1, no: 0, '1': 1, '0': 0 };
const INFERRED_BOOLEANS: ReadonlySet<string> = new Set(['true', 'false', 'yes', 'no']);

/** Plain decimal or scientific notation; no hex, no "Infinity", no thousands separators. */
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** ISO 8601 date, optionally with a time and zone. */
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function isMissing(cell: string): boolean {
  return MISSING_TOKENS.has(cell.toLowerCase());
}

/** Parses a non-missing cell as `type`; undefined when it does not parse. */
export function parseCell(type: Exclude<ColumnType, 'string'>, cell: string): number | undefined {
  switch (type) {
    case 'number': {
      if (!NUMBER_PATTERN.test(cell)) return undefined;
      const value = Number(cell);
      return Number.isFinite(value) ? value : undefined;
    }
    case 'boolean':
      return BOOLEAN_VALUES[cell.toLowerCase()];
    case 'date': {
      if (!DATE_PATTERN.test(cell)) return undefined;
      const value = Date.parse(cell);
      return Number.isFinite(value) ? value : undefined;
    }
  }
}

export function looksNumeric(cell: string): boolean {
  return parseCell('number', cell) !== undefined;
}

export function looksBoolean(cell: string): boolean {
  return INFERRED_BOOLEANS.has(cell.toLowerCase());
}

/** How many characters of a cell a message shows: enough to spot a typo, too few for a free-text note. */
const SHOWN_CHARACTERS = 24;

/** A cell for a message, quoted and truncated (feature and label cells are clinical values, not identifiers). */
export function describeCell(cell: string): string {
  return cell.length <= SHOWN_CHARACTERS ? JSON.stringify(cell) : `${JSON.stringify(cell.slice(0, SHOWN_CHARACTERS))}... (${cell.length} characters)`;
}

/** A short description of what a type accepts, for error messages. */
export const TYPE_EXPECTATIONS: Readonly<Record<ColumnType, string>> = {
  number: 'a decimal number such as 12, -0.5 or 1e-3',
  boolean: 'true/false, yes/no or 1/0',
  date: 'an ISO 8601 date such as 2024-03-01 or 2024-03-01T08:30:00Z',
  string: 'any text',
};
