import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { binOf, quantilesFromHistogram } from '../../src/stats/index.js';

describe('quantiles from a pooled histogram', () => {
  it('interpolates inside the bin that holds the rank', () => {
    // 10 values in [0, 10), 10 in [10, 20): the median is the boundary, the 0.75 quantile mid second bin
    expect(quantilesFromHistogram([10, 10], 0, 20, [0.5, 0.75, 0, 1])).toEqual([10, 15, 0, 20]);
  });

  it('reads noisy negative counts as zero and answers null for an empty histogram', () => {
    expect(quantilesFromHistogram([-3, 4], 0, 2, [0.5])).toEqual([1.5]);
    expect(quantilesFromHistogram([0, -1], 0, 2, [0.5])).toEqual([null]);
  });

  it('stays within one bin width of the exact sample quantile (the stated resolution)', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }),
      (xs, bins, q) => {
        const hist = new Array<number>(bins).fill(0);
        for (const x of xs) hist[binOf(x, 0, 100, bins)]!++;
        const sorted = [...xs].sort((a, b) => a - b);
        const exact = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
        const [got] = quantilesFromHistogram(hist, 0, 100, [q]);
        expect(Math.abs(got! - exact)).toBeLessThanOrEqual(100 / bins + 1e-9);
      }));
  });
});
