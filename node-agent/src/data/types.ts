export type ColumnType = 'number' | 'string' | 'boolean' | 'date';
export type ColumnRole = 'feature' | 'label' | 'identifier' | 'ignored';

/** number, boolean (1/0) and date (epoch milliseconds) cells; NaN marks a missing cell. */
export interface NumericColumn {
  readonly kind: 'numeric';
  readonly name: string;
  readonly type: 'number' | 'boolean' | 'date';
  readonly role: 'feature' | 'label';
  readonly values: Float64Array;
  /** Cells that did not parse as `type`: NaN in `values` like empty cells, kept apart for messages. */
  readonly unparsable?: UnparsableCells;
}

/**
 * A column's cells that did not parse (a typo such as `12O` in a number column). They count as
 * missing: a job drops their rows and refuses only when too many rows drop (see dropped-rows.ts).
 */
export interface UnparsableCells {
  /** Row indices, ascending. */
  readonly rows: Uint32Array;
  /** The cell text (truncated) of the first few rows, for refusals; clinical values, never identifiers. */
  readonly samples: ReadonlyMap<number, string>;
}

/** string cells; undefined marks a missing cell. */
export interface TextColumn {
  readonly kind: 'text';
  readonly name: string;
  readonly type: 'string';
  readonly role: 'feature' | 'label';
  readonly values: readonly (string | undefined)[];
}

/**
 * A column whose values were never kept: identifiers, columns the schema marks ignored, and
 * columns a schema file does not declare. Only the name remains.
 */
export interface WithheldColumn {
  readonly kind: 'withheld';
  readonly name: string;
  readonly type: ColumnType;
  readonly role: 'identifier' | 'ignored';
  /** True when a schema file was given and does not list this column. */
  readonly undeclared: boolean;
  /** True when no row has a value in it (inference could not type it). */
  readonly empty?: boolean;
}

export type DatasetColumn = NumericColumn | TextColumn | WithheldColumn;

/** A site's typed table. Only feature and label values are kept; identifiers never reach it. */
export interface LocalDataset {
  readonly rowCount: number;
  readonly label: string;
  readonly columns: readonly DatasetColumn[];
  /** Whether the types and roles came from a schema file or were inferred. */
  readonly schemaSource: 'file' | 'inferred';
  /** Rows of patients on the site's opt-out list, left out before loading (never kept). */
  readonly optedOutExcluded?: number;
  /** The file line of each row (header = line 1), for messages; absent: row i is on line i + 2. */
  readonly lineNumbers?: readonly number[];
  /**
   * Most share of rows (0..1) a job may drop for a missing or unparsable label or feature before
   * this site refuses it; set by the loader from the agent's configuration. Absent: the default.
   */
  readonly maxDroppedShare?: number;
}

/** Rows ready for a model: x is n*d row-major features, y class indices. */
export interface LabeledMatrix {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly d: number;
}

export interface PreparedData extends LabeledMatrix {
  /** Rows left out because the label or a job feature was missing. */
  readonly droppedRows: number;
  /** Of those, per column (label and job features, in job order; only columns that dropped rows). */
  readonly droppedByColumn: readonly DroppedColumnCount[];
}

/** Why a column dropped rows: empty (or NA-like) cells, and cells that did not parse as its type. */
export interface DroppedColumnCount {
  readonly column: string;
  readonly empty: number;
  readonly unparsable: number;
}

/** A declared column, from a schema file or inference. */
export interface FieldSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly role: ColumnRole;
}

export interface DatasetSchema {
  readonly label: string | undefined;
  readonly fields: readonly FieldSpec[];
}
