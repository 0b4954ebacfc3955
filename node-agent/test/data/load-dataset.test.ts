import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { loadDataset } from '../../src/data/load-dataset.js';
import { DataError } from '../../src/data/errors.js';
import type { LocalDataset } from '../../src/data/types.js';
import { scratch } from './files.js';

let files: Awaited<ReturnType<typeof scratch>>;
beforeAll(async () => {
  files = await scratch();
});
afterAll(async () => {
  await files.remove();
});

const COHORT = [
  'patient_id,mrn,full_name,age,bmi,smoker,sex,ward_code,outcome',
  'P-001,88231,Ada Lovelace,54,27.1,true,F,W1,low',
  'P-002,88232,Alan Turing,61,31.4,false,M,W2,high',
  'P-003,88233,Grace Hopper,NA,24.9,no,F,W1,medium',
  'P-004,88234,Edsger Dijkstra,47,,yes,M,W3,low',
].join('\n');

let fileCount = 0;
async function load(text: string, options: { label?: string; schema?: string; schemaName?: string } = {}): Promise<LocalDataset> {
  fileCount += 1;
  const csvPath = await files.file(`data-${fileCount}.csv`, text);
  const schemaPath = options.schema === undefined ? undefined : await files.file(options.schemaName ?? 'schema.yaml', options.schema);
  return loadDataset(csvPath, { label: options.label, schemaPath });
}

async function refusal(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('loadDataset without a schema (inference)', () => {
  it('types numeric and boolean columns as features, the label as label, and withholds identifiers', async () => {
    const dataset = await load(COHORT, { label: 'outcome' });
    const roles = Object.fromEntries(dataset.columns.map((c) => [c.name, `${c.role}/${c.type}`]));
    expect(roles).toEqual({
      patient_id: 'identifier/string',
      mrn: 'identifier/number',
      full_name: 'identifier/string',
      age: 'feature/number',
      bmi: 'feature/number',
      smoker: 'feature/boolean',
      sex: 'ignored/string',
      ward_code: 'ignored/string',
      outcome: 'label/string',
    });
    expect(dataset.rowCount).toBe(4);
    expect(dataset.schemaSource).toBe('inferred');
  });

  it('keeps no identifier value anywhere in the dataset', async () => {
    const dataset = await load(COHORT, { label: 'outcome' });
    const serialized = JSON.stringify(dataset, (_key, value: unknown) => (value instanceof Float64Array ? Array.from(value) : value));
    for (const secret of ['P-001', '88231', 'Ada Lovelace', 'Turing']) expect(serialized).not.toContain(secret);
    for (const column of dataset.columns.filter((c) => c.role === 'identifier')) expect(column.kind).toBe('withheld');
  });

  it('treats a string column with a distinct value on every row as an identifier', async () => {
    const dataset = await load(['token,age,y', 'a9f,1,x', 'b7c,2,y', 'c1d,3,x'].join('\n'), { label: 'y' });
    expect(dataset.columns.find((c) => c.name === 'token')?.role).toBe('identifier');
  });

  it('reads missing cells (empty, NA) as NaN and booleans as 1/0', async () => {
    const dataset = await load(COHORT, { label: 'outcome' });
    const age = dataset.columns.find((c) => c.name === 'age');
    const smoker = dataset.columns.find((c) => c.name === 'smoker');
    expect(age?.kind === 'numeric' && Array.from(age.values)).toEqual([54, 61, Number.NaN, 47]);
    expect(smoker?.kind === 'numeric' && Array.from(smoker.values)).toEqual([1, 0, 0, 1]);
  });

  it('handles quoted fields with commas, quotes and line breaks, and a BOM', async () => {
    const text = '\uFEFFnote,age,y\n"a, ""b""\nc",5,1\nplain,6,0\n';
    const dataset = await load(text, { label: 'y' });
    expect(dataset.rowCount).toBe(2);
    expect(dataset.columns.map((c) => c.name)).toEqual(['note', 'age', 'y']);
  });
});

describe('loadDataset with a schema file', () => {
  const yamlSchema = [
    'label: outcome',
    'fields:',
    '  - { name: patient_id, type: string, role: identifier }',
    '  - { name: age, type: number, role: feature }',
    '  - { name: bmi, type: number, role: feature }',
    '  - { name: smoker, type: boolean, role: feature }',
    '  - { name: outcome, type: string, role: label }',
  ].join('\n');

  it('applies declared types and roles; undeclared columns are withheld', async () => {
    const dataset = await load(COHORT, { schema: yamlSchema });
    expect(dataset.label).toBe('outcome');
    expect(dataset.schemaSource).toBe('file');
    const sex = dataset.columns.find((c) => c.name === 'sex');
    expect(sex).toMatchObject({ kind: 'withheld', role: 'ignored', undeclared: true });
    expect(dataset.columns.find((c) => c.name === 'smoker')).toMatchObject({ kind: 'numeric', type: 'boolean', role: 'feature' });
  });

  it('accepts JSON schemas', async () => {
    const schema = JSON.stringify({ fields: [{ name: 'age', type: 'number', role: 'feature' }, { name: 'outcome', type: 'string', role: 'label' }] });
    const dataset = await load(COHORT, { schema, schemaName: 'schema.json' });
    expect(dataset.label).toBe('outcome');
  });

  it('names the offending key of an invalid schema', async () => {
    const cases: Array<[string, RegExp]> = [
      ['fields:\n  - { name: age, type: number, role: feature, unit: years }\nlabel: outcome', /fields\[0\] has unknown key "unit"/],
      ['fields:\n  - { name: age, type: integer, role: feature }\nlabel: outcome', /fields\[0\]\.type must be one of number, string, boolean, date, got "integer"/],
      ['fields:\n  - { name: age, type: number, role: input }\nlabel: outcome', /fields\[0\]\.role must be one of/],
      ['fields:\n  - { name: age, type: number, role: feature }\nlabels: outcome', /unknown key "labels"/],
      ['fields: []\nlabel: outcome', /"fields" must be a non-empty list/],
      ['fields:\n  - { name: age, type: number, role: feature }\n  - { name: age, type: number, role: feature }\nlabel: outcome', /fields\[1\]\.name "age" is declared twice/],
      ['fields:\n  - { name: mrn, type: number, role: feature }\nlabel: outcome', /"mrn" is a direct identifier/],
      ['fields:\n  - { name: bogus, type: number, role: feature }\nlabel: outcome', /Schema field "bogus" is not a column/],
      ['fields: [\n', /does not parse/],
    ];
    for (const [schema, message] of cases) {
      const error = await refusal(load(COHORT, { schema }));
      expect(error.code).toBe('DATA_SCHEMA_INVALID');
      expect(error.message).toMatch(message);
    }
  });

  it('reads a cell that does not parse as its declared type as missing, and keeps its line and text for messages', async () => {
    const schema = 'label: outcome\nfields:\n  - { name: age, type: number, role: feature }';
    const dataset = await load(COHORT.replace('47,', 'forty-seven,'), { schema });
    const age = dataset.columns.find((c) => c.name === 'age');
    expect(age?.kind === 'numeric' && Array.from(age.values)).toEqual([54, 61, Number.NaN, Number.NaN]);
    expect(age?.kind === 'numeric' && age.unparsable && [Array.from(age.unparsable.rows), [...age.unparsable.samples]]).toEqual([[3], [[3, '"forty-seven"']]]);
    expect(dataset.lineNumbers).toEqual([2, 3, 4, 5]);
  });

  it('refuses a label that disagrees with the schema', async () => {
    const error = await refusal(load(COHORT, { label: 'sex', schema: yamlSchema }));
    expect(error.code).toBe('DATA_SCHEMA_INVALID');
    expect(error.message).toMatch(/"sex".*"outcome"/);
  });
});

describe('loadDataset refusals', () => {
  it('names the line and the field counts of a ragged row', async () => {
    const error = await refusal(load('a,b,y\n1,2,x\n3,4\n5,6,x\n', { label: 'y' }));
    expect(error.code).toBe('DATA_CSV_MALFORMED');
    expect(error.message).toMatch(/line 3: expected 3 fields \(as in the header\), found 2/);
  });

  it('reports an unterminated quote without echoing the cell', async () => {
    const error = await refusal(load('a,y\n1,x\n"Jane Roe secret,y\n', { label: 'y' }));
    expect(error.code).toBe('DATA_CSV_MALFORMED');
    expect(error.message).toMatch(/line 3: a quoted field is opened but never closed \(unterminated quote\)/);
    expect(error.message).not.toContain('Jane');
  });

  it('reports a stray quote inside a field without echoing the cell', async () => {
    const error = await refusal(load('a,y\n1,x\nJa"ne,y\n', { label: 'y' }));
    expect(error.code).toBe('DATA_CSV_MALFORMED');
    expect(error.message).toMatch(/line 3/);
    expect(error.message).not.toContain('Ja');
  });

  it('refuses an empty file and a header without rows', async () => {
    expect((await refusal(load('', { label: 'y' }))).code).toBe('DATA_EMPTY');
    expect((await refusal(load('a,y\n', { label: 'y' }))).code).toBe('DATA_EMPTY');
  });

  it('names the existing columns when the label is missing', async () => {
    const error = await refusal(load('age,bmi\n1,2\n', { label: 'outcome' }));
    expect(error.code).toBe('DATA_LABEL_MISSING');
    expect(error.message).toContain('"outcome"');
    expect(error.message).toContain('Columns: age, bmi');
    expect((await refusal(load('age,bmi\n1,2\n'))).code).toBe('DATA_LABEL_MISSING');
  });

  it('refuses duplicate header names, naming both positions', async () => {
    const error = await refusal(load('age,bmi,age,y\n1,2,3,x\n', { label: 'y' }));
    expect(error.code).toBe('DATA_HEADER_DUPLICATE');
    expect(error.message).toMatch(/columns 1 and 3 are both named "age"/);
  });

  it('refuses a direct identifier as the label', async () => {
    expect((await refusal(load('ssn,age\n1,2\n3,4\n', { label: 'ssn' }))).code).toBe('DATA_SCHEMA_INVALID');
  });

  it('refuses a file that cannot be read', async () => {
    const error = await refusal(loadDataset('/nonexistent/medfed/data.csv', { label: 'y' }));
    expect(error.code).toBe('DATA_FILE_UNREADABLE');
    expect(error.message).toContain('ENOENT');
  });
});
