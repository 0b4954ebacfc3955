import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { datasetFromRows } from '../../src/data/dataset-from-rows.js';
import { localFeatureStatistics } from '../../src/data/feature-statistics.js';
import { standardizationFromSums } from '../../src/data/standardization.js';
import { subsetDataset } from '../../src/data/subset-dataset.js';

const header = ['age', 'bmi', 'outcome'];

describe('localFeatureStatistics', () => {
  it('lays out [n, sums, sums of squares] over rows with the label and every feature', () => {
    const dataset = datasetFromRows(header, [['1', '10', 'a'], ['2', '20', 'b'], ['3', '', 'a'], ['4', '40', '']], { label: 'outcome' });
    expect(Array.from(localFeatureStatistics(dataset, ['bmi', 'age'], { maxDroppedShare: 0.5 }))).toEqual([2, 30, 3, 500, 5]);
  });

  it('refuses as training does when more rows drop than the site accepts', () => {
    const dataset = datasetFromRows(header, [['1', '10', 'a'], ['2', '20', 'b'], ['3', '', 'a'], ['4', '40', '']], { label: 'outcome' });
    expect(() => localFeatureStatistics(dataset, ['bmi', 'age'])).toThrow(expect.objectContaining({ code: 'DATA_TOO_MANY_DROPPED' }));
  });

  it('refuses features the site cannot provide', () => {
    const dataset = datasetFromRows(header, [['1', '10', 'a']], { label: 'outcome' });
    expect(() => localFeatureStatistics(dataset, ['age', 'weight'])).toThrow(expect.objectContaining({ code: 'DATA_SCHEMA_MISMATCH' }));
  });
});

describe('standardizationFromSums', () => {
  it('gives every site the pooled mean and population std from summed site statistics', () => {
    const row = fc.tuple(fc.integer({ min: -500, max: 500 }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom('a', 'b'));
    fc.assert(
      fc.property(fc.array(row, { minLength: 4, maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (cells, cut) => {
        const dataset = datasetFromRows(header, cells.map(([age, bmi, y]) => [String(age / 10), String(bmi / 10), y]), { label: 'outcome' });
        const indices = cells.map((_, i) => i);
        const sites = [indices.filter((i) => i % (cut + 1) === 0), indices.filter((i) => i % (cut + 1) !== 0)].filter((s) => s.length > 0);
        const summed = new Float64Array(5);
        for (const site of sites) localFeatureStatistics(subsetDataset(dataset, site), ['age', 'bmi']).forEach((v, i) => (summed[i]! += v));
        const federated = standardizationFromSums(summed, 2);
        const pooled = (j: number): { mean: number; std: number } => {
          const values = cells.map((c) => c[j]! as number / 10);
          const mean = values.reduce((a, b) => a + b, 0) / values.length;
          const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
          return { mean, std: std > 1e-9 ? std : 1 };
        };
        for (const j of [0, 1]) {
          expect(federated.mean[j]).toBeCloseTo(pooled(j).mean, 6);
          expect(federated.std[j]).toBeCloseTo(pooled(j).std, 4);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('maps a zero (or rounding-level) variance to std 1 and clamps small negative variances', () => {
    expect(standardizationFromSums(Float64Array.from([4, 8, 16]), 1)).toEqual({ mean: [2], std: [1] });
    expect(standardizationFromSums(Float64Array.from([4, 8, 15.9999999999]), 1).std).toEqual([1]);
  });

  it('refuses malformed sums', () => {
    expect(() => standardizationFromSums(Float64Array.from([2, 1, 1, 1]), 2)).toThrow(expect.objectContaining({ code: 'DATA_STANDARDIZATION_INVALID' }));
    expect(() => standardizationFromSums(Float64Array.from([0, 1, 1]), 1)).toThrow(expect.objectContaining({ code: 'DATA_STANDARDIZATION_INVALID' }));
    expect(() => standardizationFromSums(Float64Array.from([2, Number.NaN, 1]), 1)).toThrow(expect.objectContaining({ code: 'DATA_STANDARDIZATION_INVALID' }));
  });
});
