import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { loadDataset } from '../../src/data/load-dataset.js';
import { datasetFromRows } from '../../src/data/dataset-from-rows.js';
import { prepareForJob } from '../../src/data/prepare-for-job.js';
import { checkDataForJob } from '../../src/data/job-fit.js';
import { localFeatureStatistics } from '../../src/data/feature-statistics.js';
import { subsetDataset } from '../../src/data/subset-dataset.js';
import { DataError } from '../../src/data/errors.js';
import { architectureForJob } from '../../src/training/architecture.js';
import { initialWeights } from '../../src/training/initial-weights.js';
import { trainLocal } from '../../src/training/train-local.js';
import { scratch } from './files.js';
import { job } from './job.js';

/**
 * The issue: one non-numeric cell at one site (`12O`, `n/a`) failed the whole job at round 0 with
 * no row named. A cell that does not parse is missing: its row is dropped and counted per column,
 * and the site refuses only when more than its share of rows drops, naming the first rows.
 */
let files: Awaited<ReturnType<typeof scratch>>;
beforeAll(async () => {
  files = await scratch();
});
afterAll(async () => {
  await files.remove();
});

/** `count` rows of age,bmi,outcome (ages repeat, as real ones do); `bad` replaces cells by row index. */
function cohort(count: number, bad: Record<number, { age?: string; bmi?: string }> = {}): string {
  const lines = ['patient_id,age,bmi,outcome'];
  for (let i = 0; i < count; i++) {
    const age = bad[i]?.age ?? String(30 + (i % 40));
    const bmi = bad[i]?.bmi ?? (18 + (i % 15) * 0.7).toFixed(1);
    lines.push(`P${1000 + i},${age},${bmi},${i % 2 === 0 ? 'low' : 'high'}`);
  }
  return `${lines.join('\n')}\n`;
}

let fileCount = 0;
async function load(text: string, options: { maxDroppedShare?: number; schema?: string } = {}) {
  fileCount += 1;
  const csvPath = await files.file(`cohort-${fileCount}.csv`, text);
  const schemaPath = options.schema === undefined ? undefined : await files.file(`schema-${fileCount}.yaml`, options.schema);
  return loadDataset(csvPath, { label: 'outcome', ...(schemaPath ? { schemaPath } : {}), ...(options.maxDroppedShare === undefined ? {} : { maxDroppedShare: options.maxDroppedShare }) });
}

function refusal(run: () => unknown): DataError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error('expected a refusal');
}

describe('a cell that does not parse is missing', () => {
  it('loads a CSV with 12O and n/a in numeric features, drops those rows, counts them per column, and trains', async () => {
    // row 9 is on line 11 (header = line 1), row 19 on line 21
    const dataset = await load(cohort(50, { 9: { age: '12O' }, 19: { bmi: 'n/a' } }));
    const age = dataset.columns.find((c) => c.name === 'age');
    expect(age).toMatchObject({ kind: 'numeric', type: 'number', role: 'feature' });

    const spec = job({ features: ['age', 'bmi'], classes: ['low', 'high'], model: { hidden: [4], activation: 'relu' } });
    const prepared = prepareForJob(dataset, spec);
    expect([prepared.n, prepared.droppedRows]).toEqual([48, 2]);
    expect(prepared.droppedByColumn).toEqual([
      { column: 'age', empty: 0, unparsable: 1 },
      { column: 'bmi', empty: 1, unparsable: 0 },
    ]);
    expect(localFeatureStatistics(dataset, spec.features)[0]).toBe(48); // round 0's statistics use the same rows
    expect(checkDataForJob(dataset, spec)).toEqual({ rowCount: 50, usableRows: 48, droppedRows: 2, droppedByColumn: prepared.droppedByColumn });

    const arch = architectureForJob(spec);
    const trained = await trainLocal(arch, initialWeights(arch.inputs, arch.hidden, arch.classes, 1), prepared, spec.training);
    expect(trained.numSamples).toBe(48);
    expect(trained.weights.every(Number.isFinite)).toBe(true);
  });

  it('reads an unparsable cell in a schema-declared number column as missing too', async () => {
    const schema = 'label: outcome\nfields:\n  - { name: age, type: number, role: feature }\n  - { name: bmi, type: number, role: feature }';
    const dataset = await load(cohort(50, { 4: { age: 'forty' } }), { schema });
    expect(prepareForJob(dataset, job({ classes: ['low', 'high'] })).droppedByColumn).toEqual([{ column: 'age', empty: 0, unparsable: 1 }]);
  });

  it('refuses 10% bad rows at the default share, naming the first rows, columns and (truncated) values', async () => {
    const long = 'see the note written by the ward nurse on admission';
    const dataset = await load(cohort(50, { 2: { age: '12O' }, 5: { bmi: long }, 6: { age: 'n/a', bmi: '"2,5"' }, 30: { age: '7O' }, 40: { bmi: '' } }));
    const error = refusal(() => prepareForJob(dataset, job({ classes: ['low', 'high'] })));
    expect(error.code).toBe('DATA_TOO_MANY_DROPPED');
    expect(error.message).toContain('5 of 50 rows (10%)');
    expect(error.message).toContain('at most 5% (data.maxDroppedShare)');
    expect(error.message).toContain('line 4: age "12O" is not a number');
    expect(error.message).toContain('line 7: bmi "see the note written by "... (51 characters) is not a number');
    expect(error.message).toContain('line 8: age is empty or NA, bmi "2,5" is not a number');
    expect(error.message).toContain('Dropped per column: age 2 unparsable, 1 empty; bmi 2 unparsable, 1 empty');
    expect(error.message).not.toContain('line 32'); // never more than a few rows
    expect(error.message).not.toContain('ward nurse');
    expect(error.message).toMatch(/Fix these cells in the export.*raise data\.maxDroppedShare/);
    expect(error.details).toMatchObject({ rowCount: 50, droppedRows: 5, maxDroppedShare: 0.05, firstLines: [4, 7, 8] });
    expect(JSON.stringify(error.details)).not.toContain('12O'); // values only in the message

    // the same refusal before round 0, and for round 0's statistics
    expect(refusal(() => checkDataForJob(dataset, job({ classes: ['low', 'high'] }))).message).toBe(error.message);
    expect(refusal(() => localFeatureStatistics(dataset, ['age', 'bmi'])).code).toBe('DATA_TOO_MANY_DROPPED');
  });

  it('accepts those rows under a larger configured share (loader option or per call)', async () => {
    const text = cohort(50, { 2: { age: '12O' }, 5: { bmi: 'x' }, 6: { age: 'y' }, 30: { age: '7O' }, 40: { bmi: '' } });
    expect(prepareForJob(await load(text, { maxDroppedShare: 0.1 }), job({ classes: ['low', 'high'] })).n).toBe(45);
    expect(prepareForJob(await load(text), job({ classes: ['low', 'high'] }), undefined, { maxDroppedShare: 0.2 }).n).toBe(45);
    await expect(load(text, { maxDroppedShare: 1.5 })).rejects.toThrow(RangeError);
  });

  it('says DATA_NO_USABLE_ROWS with the same evidence when every row drops', () => {
    const dataset = datasetFromRows(['age', 'bmi', 'outcome'], [['1', 'x', 'low'], ['', '2', 'high'], ['', '2', 'low']], { label: 'outcome' });
    const error = refusal(() => prepareForJob(dataset, job({ classes: ['low', 'high'] })));
    expect(error.code).toBe('DATA_NO_USABLE_ROWS');
    expect(error.message).toContain('line 2: bmi "x" is not a number; line 3: age is empty or NA');
  });

  it('keeps lines and unparsable cells through a split (subsetDataset)', () => {
    const dataset = datasetFromRows(['age', 'outcome'], [['1', 'low'], ['1', 'high'], ['x', 'low'], ['4', 'high']], { label: 'outcome' });
    const split = subsetDataset(dataset, [3, 2, 0]);
    const error = refusal(() => prepareForJob(split, job({ features: ['age'], classes: ['low', 'high'] })));
    expect(error.message).toContain('1 of 3 rows');
    expect(error.message).toContain('line 4: age "x" is not a number');
  });
});

describe('a text feature', () => {
  it('is refused as categorical, with what to do today', async () => {
    const text = cohort(20).split('\n').map((line, i) => (line === '' ? line : `${line},${i === 0 ? 'sex' : i % 3 ? 'F' : 'M'}`)).join('\n');
    const dataset = await load(text);
    const error = refusal(() => prepareForJob(dataset, job({ features: ['age', 'sex'], classes: ['low', 'high'] })));
    expect(error.code).toBe('DATA_SCHEMA_MISMATCH');
    expect(error.message).toContain('feature "sex" is not numeric at this site: it holds text');
    expect(error.message).toContain('categorical');
    expect(error.message).toContain('encode it in the export as 0/1 numeric columns, one per category (for example sex_M and sex_F)');
    expect(error.message).toContain('categorical encoding is planned');
    expect(error.details).toMatchObject({ textFeatures: ['sex'] });
  });

  it('stays text when only a minority of its cells are numbers, and an all-empty column is named as such', () => {
    const rows = [['M', '', '1', 'low'], ['F', '', '2', 'high'], ['3', '', '3', 'low'], ['F', '', '4', 'high']];
    const dataset = datasetFromRows(['sex', 'weight', 'age', 'outcome'], rows, { label: 'outcome' });
    expect(dataset.columns.find((c) => c.name === 'sex')).toMatchObject({ kind: 'withheld', type: 'string', role: 'ignored' });
    const error = refusal(() => prepareForJob(dataset, job({ features: ['sex', 'weight'], classes: ['low', 'high'] })));
    expect(error.message).toContain('feature "sex" is not numeric at this site');
    expect(error.message).toContain('feature "weight" has no value on any row at this site');
  });

  it('keeps a not-cleanly-numeric column that differs on every row withheld as a likely identifier, and says so', () => {
    const rows = [['10451', '1', 'low'], ['10452', '2', 'high'], ['A1045', '3', 'low'], ['10454', '4', 'high']];
    const dataset = datasetFromRows(['code', 'age', 'outcome'], rows, { label: 'outcome' });
    expect(dataset.columns.find((c) => c.name === 'code')).toMatchObject({ kind: 'withheld', role: 'identifier' });
    expect(JSON.stringify(dataset)).not.toContain('1045');
    const error = refusal(() => prepareForJob(dataset, job({ features: ['code'], classes: ['low', 'high'] })));
    expect(error.message).toContain('feature "code" was taken for an identifier at this site');
  });
});
