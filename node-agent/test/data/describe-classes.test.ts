import { describe, it, expect } from '@jest/globals';
import { datasetFromRows } from '../../src/data/dataset-from-rows.js';
import { describeClasses } from '../../src/data/describe-classes.js';

describe('describeClasses', () => {
  it('lists distinct string labels in code-unit order, skipping missing cells', () => {
    const dataset = datasetFromRows(['x', 'risk'], [['1', 'medium'], ['2', 'low'], ['3', 'high'], ['4', 'low'], ['5', 'NA']], { label: 'risk' });
    expect(describeClasses(dataset, 'risk')).toEqual(['high', 'low', 'medium']);
  });

  it('canonicalises numeric labels and sorts them numerically', () => {
    const dataset = datasetFromRows(['x', 'grade'], [['1', '10'], ['2', '2.0'], ['3', '2'], ['4', '1e0']], { label: 'grade' });
    expect(describeClasses(dataset, 'grade')).toEqual(['1', '2', '10']);
  });

  it('refuses a column without kept values', () => {
    const dataset = datasetFromRows(['patient_id', 'y'], [['a', '1'], ['b', '0']], { label: 'y' });
    expect(() => describeClasses(dataset, 'patient_id')).toThrow(expect.objectContaining({ code: 'DATA_LABEL_MISSING' }));
  });
});
