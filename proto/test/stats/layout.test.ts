import { describe, expect, it } from '@jest/globals';
import { binOf, bigintsToLimbs, cellIndex, fixedPoint, limbsToBigints, parseStatsQuery, statsLayout } from '../../src/stats/index.js';

describe('statistics vector layout', () => {
  const q = parseStatsQuery({
    name: 'q', sites: ['a'], statistics: ['count', 'variance', 'quantiles'],
    groupBy: [{ field: 'sex', categories: ['F', 'M'] }, { field: 'ward', categories: ['A', 'B', 'C'] }],
    fields: [{ name: 'age', lower: 0, upper: 100, bins: 4 }, { name: 'sbp', lower: 50, upper: 250, bins: 2 }],
  });

  it('enumerates every declared cell, first groupBy field slowest, so every site sends the same layout', () => {
    const l = statsLayout(q);
    expect(l.cells).toEqual([
      { sex: 'F', ward: 'A' }, { sex: 'F', ward: 'B' }, { sex: 'F', ward: 'C' },
      { sex: 'M', ward: 'A' }, { sex: 'M', ward: 'B' }, { sex: 'M', ward: 'C' },
    ]);
    // count, then per field n, sum, sumsq (variance asks for both) and the bins
    expect(l.block).toBe(1 + (3 + 4) + (3 + 2));
    expect(l.fields[0]).toEqual({ field: 'age', n: 1, sum: 2, sumsq: 3, hist: 4, bins: 4 });
    expect(l.fields[1]).toEqual({ field: 'sbp', n: 8, sum: 9, sumsq: 10, hist: 11, bins: 2 });
    expect(l.length).toBe(6 * l.block);
  });

  it('includes only the slots the statistics need', () => {
    const counts = statsLayout(parseStatsQuery({ name: 'q', sites: ['a'], fields: [{ name: 'x', lower: 0, upper: 1 }], statistics: ['mean'] }));
    expect(counts.fields[0]).toEqual({ field: 'x', n: 1, sum: 2, sumsq: null, hist: null, bins: 10 });
    expect(counts.block).toBe(3);
  });

  it('maps a row to its cell, or -1 for an undeclared or missing value', () => {
    expect(cellIndex(q, ['M', 'B'])).toBe(4);
    expect(cellIndex(q, ['F', 'A'])).toBe(0);
    expect(cellIndex(q, ['X', 'A'])).toBe(-1);
    expect(cellIndex(q, ['F', null])).toBe(-1);
  });

  it('clamps values to the range for fixed point and bins (the upper bound in the last bin)', () => {
    expect(fixedPoint(12.345, 0, 100, 100)).toBe(1235n);
    expect(fixedPoint(-3, 0, 100, 10)).toBe(0n);
    expect(fixedPoint(130, 0, 100, 10)).toBe(1000n);
    expect(binOf(0, 0, 100, 4)).toBe(0);
    expect(binOf(25, 0, 100, 4)).toBe(1);
    expect(binOf(100, 0, 100, 4)).toBe(3);
    expect(binOf(1e6, 0, 100, 4)).toBe(3);
  });

  it('carries integers beyond 2^53 exactly through limbs, negatives included', () => {
    const values = [0n, 1n, -1n, 2n ** 60n + 12345n, -(2n ** 70n) - 7n, 2n ** 94n - 1n];
    expect(limbsToBigints(bigintsToLimbs(values))).toEqual(values);
    // sums of limbs recombine with carries into the sum of the values
    const a = bigintsToLimbs([2n ** 55n + 3n, -5n]);
    const b = bigintsToLimbs([2n ** 55n - 1n, 2n ** 40n]);
    expect(limbsToBigints(a.map((x, i) => x + b[i]!))).toEqual([2n ** 56n + 2n, 2n ** 40n - 5n]);
    expect(() => bigintsToLimbs([2n ** 95n])).toThrow(/range/);
  });
});
