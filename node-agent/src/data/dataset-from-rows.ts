import { describeCell, isMissing, parseCell } from './cells.js';
import { DataError } from './errors.js';
import { isDirectIdentifierName } from './identifiers.js';
import { inferFields, inferType } from './infer-schema.js';
import type { DatasetColumn, DatasetSchema, FieldSpec, LocalDataset, UnparsableCells } from './types.js';

/** How many unparsable cells of a column keep their text for messages (a refusal names a few rows only). */
const KEPT_SAMPLES = 5;

export interface DatasetOptions {
  /** The label column. May be omitted when the schema names it; must agree with it otherwise. */
  readonly label?: string;
  readonly schema?: DatasetSchema;
  /** Names the data in messages (a file path); default "the data". */
  readonly source?: string;
  /** The file line of each row, for messages; default header on line 1, row i on line i + 2. */
  readonly lineNumbers?: readonly number[];
}

/**
 * Types a table of string cells (a parsed CSV) into a LocalDataset: checks the header, resolves
 * the label, applies the schema (or infers one) and parses every feature and label cell. Values of
 * identifier, ignored and undeclared columns are dropped here.
 */
export function datasetFromRows(header: readonly string[], rows: readonly (readonly string[])[], options: DatasetOptions = {}): LocalDataset {
  const source = options.source ?? 'the data';
  const names = checkHeader(header, source);
  const label = resolveLabel(names, options, source);
  if (rows.length === 0) throw new DataError('DATA_EMPTY', `${source} has a header but no data rows.`);
  const lineOf = (row: number): number => options.lineNumbers?.[row] ?? row + 2;
  rows.forEach((row, i) => {
    if (row.length !== names.length) {
      throw new DataError('DATA_CSV_MALFORMED', `${source}, line ${lineOf(i)}: expected ${names.length} fields (as in the header), found ${row.length}.`);
    }
  });
  const fields = options.schema === undefined ? inferFields(names, rows, label) : fieldsFromSchema(options.schema, names, rows, label, source);
  const declared = options.schema === undefined ? undefined : new Set(options.schema.fields.map((field) => field.name));
  const columns = fields.map((field, column) => typeColumn(field, column, rows, declared !== undefined && !declared.has(field.name)));
  return {
    rowCount: rows.length, label, columns, schemaSource: options.schema === undefined ? 'inferred' : 'file',
    lineNumbers: rows.map((_, i) => lineOf(i)),
  };
}

function checkHeader(header: readonly string[], source: string): string[] {
  const names = header.map((name) => name.trim());
  const firstSeen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === '') throw new DataError('DATA_CSV_MALFORMED', `${source}: header column ${i + 1} has an empty name; every column needs a unique name.`);
    const earlier = firstSeen.get(name);
    if (earlier !== undefined) {
      throw new DataError('DATA_HEADER_DUPLICATE', `${source}: header columns ${earlier + 1} and ${i + 1} are both named "${name}"; rename one.`);
    }
    firstSeen.set(name, i);
  });
  return names;
}

function resolveLabel(names: readonly string[], options: DatasetOptions, source: string): string {
  const fromSchema = options.schema?.label;
  if (options.label !== undefined && fromSchema !== undefined && options.label !== fromSchema) {
    throw new DataError('DATA_SCHEMA_INVALID', `The label was given as "${options.label}" but the schema declares "${fromSchema}"; make them agree.`);
  }
  const label = options.label ?? fromSchema;
  if (label === undefined || label.trim() === '') {
    throw new DataError('DATA_LABEL_MISSING', `No label column named for ${source}: pass the label column or set "label" in the schema. Columns: ${names.join(', ')}.`);
  }
  if (!names.includes(label)) {
    throw new DataError('DATA_LABEL_MISSING', `Label column "${label}" is not in ${source}. Columns: ${names.join(', ')}.`);
  }
  if (isDirectIdentifierName(label)) {
    throw new DataError('DATA_SCHEMA_INVALID', `Label column "${label}" is a direct identifier; a model must not be trained to predict it.`);
  }
  return label;
}

/** Schema fields in header order; the label may be left out of the schema (its type is inferred). */
function fieldsFromSchema(schema: DatasetSchema, names: readonly string[], rows: readonly (readonly string[])[], label: string, source: string): FieldSpec[] {
  const declared = new Map(schema.fields.map((field) => [field.name, field]));
  for (const field of schema.fields) {
    if (!names.includes(field.name)) {
      throw new DataError('DATA_SCHEMA_INVALID', `Schema field "${field.name}" is not a column of ${source}. Columns: ${names.join(', ')}.`);
    }
  }
  return names.map((name, column): FieldSpec => {
    const field = declared.get(name);
    if (field !== undefined) return field;
    if (name === label) {
      const cells = rows.map((row) => row[column] ?? '').filter((cell) => !isMissing(cell));
      return { name, type: inferType(cells), role: 'label' };
    }
    return { name, type: 'string', role: 'ignored' };
  });
}

/**
 * Keeps feature and label values, parsed as the field's type. A cell that does not parse is
 * missing (NaN), like an empty one, and noted: whether that matters is decided per job, which
 * knows which columns it uses (see dropped-rows.ts).
 */
function typeColumn(field: FieldSpec, column: number, rows: readonly (readonly string[])[], undeclared: boolean): DatasetColumn {
  const { name, type, role } = field;
  if (role === 'identifier' || role === 'ignored') {
    return { kind: 'withheld', name, type, role, undeclared, empty: rows.every((row) => isMissing(row[column]!)) };
  }
  if (type === 'string') {
    return { kind: 'text', name, type, role, values: rows.map((row) => (isMissing(row[column]!) ? undefined : row[column]!)) };
  }
  const values = new Float64Array(rows.length);
  const unparsable: number[] = [];
  const samples = new Map<number, string>();
  rows.forEach((row, i) => {
    const cell = row[column]!;
    const parsed = isMissing(cell) ? undefined : parseCell(type, cell);
    values[i] = parsed ?? Number.NaN;
    if (parsed === undefined && !isMissing(cell)) {
      unparsable.push(i);
      if (samples.size < KEPT_SAMPLES) samples.set(i, describeCell(cell));
    }
  });
  if (unparsable.length === 0) return { kind: 'numeric', name, type, role, values };
  const cells: UnparsableCells = { rows: Uint32Array.from(unparsable), samples };
  return { kind: 'numeric', name, type, role, values, unparsable: cells };
}
