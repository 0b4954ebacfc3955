import { describe, it, expect } from '@jest/globals';
import { datasetFromRows } from '../../src/data/dataset-from-rows.js';
import { prepareForJob } from '../../src/data/prepare-for-job.js';
import { DataError } from '../../src/data/errors.js';
import { job } from './job.js';

const header = ['patient_id', 'bmi', 'note', 'age', 'visit_date', 'outcome'];
const rows = [
  ['P1', '20', 'a', '30', '2024-01-01', 'low'],
  ['P2', '25', 'a', '40', '2024-01-02', 'high'],
  ['P3', '', 'b', '50', '2024-01-01', 'low'],
  ['P4', '35', 'b', '60', '2024-01-01', 'NA'],
  ['P5', '30', 'a', '70', '2024-01-02', 'high'],
];
// 2 of these 5 rows drop: the fixture accepts that (sites default to 5%, see dropped-rows.test.ts).
const dataset = { ...datasetFromRows(header, rows, { label: 'outcome' }), maxDroppedShare: 0.5 };

function refusal(run: () => unknown): DataError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error('expected a refusal');
}

describe('prepareForJob', () => {
  it('uses the job\'s feature order and class indices, dropping rows with a missing feature or label', () => {
    const prepared = prepareForJob(dataset, job({ features: ['age', 'bmi'] }));
    expect(prepared.d).toBe(2);
    expect(prepared.n).toBe(3);
    expect(prepared.droppedRows).toBe(2);
    expect(prepared.droppedByColumn).toEqual([{ column: 'outcome', empty: 1, unparsable: 0 }, { column: 'bmi', empty: 1, unparsable: 0 }]);
    expect(Array.from(prepared.x)).toEqual([30, 20, 40, 25, 70, 30]);
    expect(Array.from(prepared.y)).toEqual([0, 2, 2]); // low=0, high=2; the site lacks "medium" and still trains
    const reordered = prepareForJob(dataset, job({ features: ['bmi', 'age'] }));
    expect(Array.from(reordered.x)).toEqual([20, 30, 25, 40, 30, 70]);
  });

  it('applies the published standardisation', () => {
    const prepared = prepareForJob(dataset, job({ standardization: 'federated' }), { mean: [50, 25], std: [10, 5] });
    expect(Array.from(prepared.x)).toEqual([-2, -1, -1, 0, 2, 1]);
  });

  it('names every feature that is missing or not numeric', () => {
    const error = refusal(() => prepareForJob(dataset, job({ features: ['age', 'weight', 'note', 'patient_id', 'visit_date', 'outcome'] })));
    expect(error.code).toBe('DATA_SCHEMA_MISMATCH');
    expect(error.message).toContain('feature "weight" is not a column at this site');
    expect(error.message).toContain('feature "note" is not numeric at this site: it holds text');
    expect(error.message).toContain('categorical');
    expect(error.message).toContain('feature "patient_id" is an identifier column');
    expect(error.message).toContain('feature "visit_date" is not numeric');
    expect(error.message).toContain('feature "outcome" is this site\'s label column');
    expect(error.message).not.toContain('"age"');
  });

  it('refuses a schema-declared date or string feature', () => {
    const schema = {
      label: 'outcome',
      fields: [
        { name: 'visit_date', type: 'date', role: 'feature' },
        { name: 'note', type: 'string', role: 'feature' },
      ],
    } as const;
    const declared = datasetFromRows(header, rows, { schema });
    const error = refusal(() => prepareForJob(declared, job({ features: ['visit_date', 'note', 'age'] })));
    expect(error.message).toContain('feature "visit_date" is a date column');
    expect(error.message).toContain('feature "note" is not numeric: this site\'s schema declares it string (text)');
    expect(error.message).toMatch(/encode it in the export as 0\/1 numeric columns/);
    expect(error.message).toContain('feature "age" is not declared in this site\'s schema file');
  });

  it('names label values outside the job\'s classes (a few of them, with counts)', () => {
    const error = refusal(() => prepareForJob(dataset, job({ classes: ['low', 'medium'] })));
    expect(error.code).toBe('DATA_SCHEMA_MISMATCH');
    expect(error.message).toContain('"high" (2 rows)');
    const many = datasetFromRows(['x', 'y'], Array.from({ length: 12 }, (_, i) => [String(i), `c${i}`]), { label: 'y' });
    const manyError = refusal(() => prepareForJob(many, job({ features: ['x'], label: 'y', classes: ['a', 'b'] })));
    expect(manyError.message).toContain('and 7 more');
    expect(manyError.message).not.toContain('"c9"');
  });

  it('compares numeric labels canonically (1.0 is class "1")', () => {
    const numeric = datasetFromRows(['x', 'y'], [['1', '0'], ['2', '1.0'], ['3', '1']], { label: 'y' });
    const prepared = prepareForJob(numeric, job({ features: ['x'], label: 'y', classes: ['0', '1'] }));
    expect(Array.from(prepared.y)).toEqual([0, 1, 1]);
  });

  it('refuses missing, unexpected or unusable standardisation', () => {
    expect(refusal(() => prepareForJob(dataset, job({ standardization: 'federated' }))).code).toBe('DATA_STANDARDIZATION_INVALID');
    expect(refusal(() => prepareForJob(dataset, job(), { mean: [0, 0], std: [1, 1] })).code).toBe('DATA_STANDARDIZATION_INVALID');
    expect(refusal(() => prepareForJob(dataset, job({ standardization: 'federated' }), { mean: [0], std: [1] })).code).toBe('DATA_STANDARDIZATION_INVALID');
    expect(refusal(() => prepareForJob(dataset, job({ standardization: 'federated' }), { mean: [0, 0], std: [1, 0] })).code).toBe('DATA_STANDARDIZATION_INVALID');
  });

  it('refuses a job label other than the site\'s, and a site with no usable row', () => {
    expect(refusal(() => prepareForJob(dataset, job({ label: 'note' }))).code).toBe('DATA_SCHEMA_MISMATCH');
    const empty = datasetFromRows(['age', 'bmi', 'outcome'], [['1', '', 'low'], ['', '2', 'high']], { label: 'outcome' });
    expect(refusal(() => prepareForJob(empty, job())).code).toBe('DATA_NO_USABLE_ROWS');
  });
});
