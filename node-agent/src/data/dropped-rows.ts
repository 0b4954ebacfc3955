import { DataError } from './errors.js';
import type { DroppedColumnCount, LocalDataset, NumericColumn, TextColumn } from './types.js';

/**
 * Most share of rows a job may drop before the site refuses it (agent setting data.maxDroppedShare).
 * A few dropped rows are a site's usual gaps; many are usually an export problem (a shifted column,
 * decimal commas, a unit suffix) that complete-case training would otherwise hide.
 */
export const DEFAULT_MAX_DROPPED_SHARE = 0.05;

/** How many dropped rows a refusal names, how many columns of each, and how many columns it counts. */
const NAMED_ROWS = 3;
const NAMED_COLUMNS_PER_ROW = 3;
const COUNTED_COLUMNS = 5;

const TYPE_NAMES: Readonly<Record<NumericColumn['type'], string>> = { number: 'a number', boolean: 'true/false', date: 'a date' };

type JobColumn = NumericColumn | TextColumn;

export interface RowCount {
  /** Indices of the rows with the label and every job feature present, ascending. */
  readonly rows: number[];
  readonly droppedRows: number;
  readonly droppedByColumn: DroppedColumnCount[];
  /** The first dropped rows and, for each, the columns that dropped it. */
  readonly firstDropped: readonly { readonly row: number; readonly columns: readonly JobColumn[] }[];
}

/** A share from configuration or a caller; out of 0..1 is a programming or configuration error. */
export function checkDroppedShare(share: number): number {
  if (!(Number.isFinite(share) && share >= 0 && share <= 1)) throw new RangeError(`maxDroppedShare must be a number from 0 to 1, got ${share}.`);
  return share;
}

/** Complete-case rows for a job's label and features, with the dropped rows counted per column. */
export function countUsableRows(dataset: LocalDataset, label: JobColumn, features: readonly NumericColumn[]): RowCount {
  const columns: JobColumn[] = [label, ...features];
  const counts = columns.map((column) => ({ column: column.name, empty: 0, unparsable: 0 }));
  const cursors = columns.map(() => 0);
  const rows: number[] = [];
  const firstDropped: { row: number; columns: JobColumn[] }[] = [];
  for (let row = 0; row < dataset.rowCount; row++) {
    const missing = columns.filter((column, j) => {
      if (!isMissingValue(column, row)) return false;
      if (isUnparsable(column, row, cursors, j)) counts[j]!.unparsable += 1;
      else counts[j]!.empty += 1;
      return true;
    });
    if (missing.length === 0) rows.push(row);
    else if (firstDropped.length < NAMED_ROWS) firstDropped.push({ row, columns: missing });
  }
  return {
    rows,
    droppedRows: dataset.rowCount - rows.length,
    droppedByColumn: counts.filter((c) => c.empty + c.unparsable > 0),
    firstDropped,
  };
}

/**
 * Refuses a job when no row is usable (DATA_NO_USABLE_ROWS) or more than the site's share of rows
 * drops (DATA_TOO_MANY_DROPPED); either names the first dropped rows by file line, their columns
 * and (truncated) unparsable values, and says what to do.
 */
export function refuseDroppedRows(dataset: LocalDataset, counted: RowCount, what: string, maxDroppedShare?: number): void {
  const limit = checkDroppedShare(maxDroppedShare ?? dataset.maxDroppedShare ?? DEFAULT_MAX_DROPPED_SHARE);
  const share = dataset.rowCount === 0 ? 0 : counted.droppedRows / dataset.rowCount;
  if (counted.rows.length > 0 && share <= limit) return;
  const details = {
    rowCount: dataset.rowCount, droppedRows: counted.droppedRows, maxDroppedShare: limit,
    droppedByColumn: counted.droppedByColumn, firstLines: counted.firstDropped.map(({ row }) => lineOf(dataset, row)),
  };
  const evidence = `Dropped per column: ${perColumn(counted)}. First rows: ${firstRows(dataset, counted)}.`;
  if (counted.rows.length === 0) {
    throw new DataError('DATA_NO_USABLE_ROWS', `${what}: none of the ${dataset.rowCount} rows has the label and every job feature present. ${evidence} ${FIX}`, details);
  }
  throw new DataError(
    'DATA_TOO_MANY_DROPPED',
    `${what}: ${counted.droppedRows} of ${dataset.rowCount} rows (${percent(share)}) miss the label or a job feature, or hold a value that does not parse; ` +
      `this site accepts at most ${percent(limit)} (data.maxDroppedShare). ${evidence} ${FIX} If dropping these rows is acceptable, raise data.maxDroppedShare in the agent configuration.`,
    details,
  );
}

const FIX = 'Fix these cells in the export (a value of the column\'s type, or an empty cell when it is unknown).';

function isMissingValue(column: JobColumn, row: number): boolean {
  return column.kind === 'text' ? column.values[row] === undefined : Number.isNaN(column.values[row]!);
}

/** Whether a missing cell was unparsable; rows arrive ascending, so each column's cursor only moves on. */
function isUnparsable(column: JobColumn, row: number, cursors: number[], j: number): boolean {
  const bad = column.kind === 'numeric' ? column.unparsable?.rows : undefined;
  if (bad === undefined) return false;
  let at = cursors[j]!;
  while (at < bad.length && bad[at]! < row) at += 1;
  cursors[j] = at;
  return bad[at] === row;
}

function lineOf(dataset: LocalDataset, row: number): number {
  return dataset.lineNumbers?.[row] ?? row + 2;
}

function perColumn(counted: RowCount): string {
  const sorted = [...counted.droppedByColumn].sort((a, b) => b.empty + b.unparsable - (a.empty + a.unparsable));
  const listed = sorted.slice(0, COUNTED_COLUMNS).map(({ column, empty, unparsable }) => {
    const parts = [unparsable > 0 ? `${unparsable} unparsable` : '', empty > 0 ? `${empty} empty` : ''].filter(Boolean);
    return `${column} ${parts.join(', ')}`;
  });
  const more = sorted.length > COUNTED_COLUMNS ? ` and ${sorted.length - COUNTED_COLUMNS} more columns` : '';
  return `${listed.join('; ')}${more}`;
}

function firstRows(dataset: LocalDataset, counted: RowCount): string {
  return counted.firstDropped.map(({ row, columns }) => {
    const named = columns.slice(0, NAMED_COLUMNS_PER_ROW).map((column) => cellProblem(column, row, column.name === dataset.label));
    const more = columns.length > NAMED_COLUMNS_PER_ROW ? ` and ${columns.length - NAMED_COLUMNS_PER_ROW} more columns` : '';
    return `line ${lineOf(dataset, row)}: ${named.join(', ')}${more}`;
  }).join('; ');
}

function cellProblem(column: JobColumn, row: number, isLabel: boolean): string {
  const name = isLabel ? `label ${column.name}` : column.name;
  if (column.kind === 'numeric' && column.unparsable !== undefined) {
    const sample = column.unparsable.samples.get(row);
    const unparsable = sample !== undefined || column.unparsable.rows.includes(row);
    if (unparsable) return `${name} ${sample ?? 'value'} is not ${TYPE_NAMES[column.type]}`;
  }
  return `${name} is empty or NA`;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}
