import { describe, expect, it } from '@jest/globals';
import { computeStatsResult, noiseBound, noisePlan, parseStatsQuery, statsLayout } from '../../src/stats/index.js';

const ctx = { job: 'job-1', queryDigest: 'a'.repeat(64), publishedBy: 'site-a', contributors: ['site-a', 'site-b', 'site-c'], sumSha256: 'b'.repeat(64), minCellSize: 11, now: new Date(0) };

describe('the published result', () => {
  const q = parseStatsQuery({
    name: 'q', sites: ['site-a'], decimals: 1, statistics: ['count', 'sum', 'mean', 'variance', 'histogram', 'quantiles'], quantiles: [0.5],
    groupBy: [{ field: 'w', categories: ['A', 'B', 'C'] }], fields: [{ name: 'x', lower: 0, upper: 10, bins: 2 }],
  });
  const l = statsLayout(q);

  /** A cell's block from raw values (fixed point, scale 10). */
  function block(values: number[], extraRows = 0): bigint[] {
    const v = values.map((x) => BigInt(Math.round(x * 10)));
    const hist = [values.filter((x) => x < 5).length, values.filter((x) => x >= 5).length];
    return [BigInt(values.length + extraRows), BigInt(values.length), v.reduce((a, b) => a + b, 0n), v.reduce((a, b) => a + b * b, 0n), ...hist.map(BigInt)];
  }

  it('computes mean and population variance from the exact sums, and suppresses small cells with a complement', () => {
    const a = Array.from({ length: 20 }, (_, i) => (i % 10) + 0.5);
    const b = Array.from({ length: 12 }, () => 7);
    const sums = [...block(a), ...block(b, 3), ...block([1, 2, 3])];
    const r = computeStatsResult(q, l, sums, ctx);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    expect(r.cells[0]!.fields!.x!.mean).toBeCloseTo(mean, 12);
    expect(r.cells[0]!.fields!.x!.variance).toBeCloseTo(variance, 12);
    expect(r.cells[0]!.fields!.x!.histogram).toEqual([null, null]); // 10 and 10: both under 11
    expect(r.cells[0]!.fields!.x!.quantiles).toEqual({ '0.5': 5 });
    // C (3 patients) is suppressed; B is the smallest other cell and goes as its complement
    expect(r.cells.map((c) => [c.suppressed, c.reason])).toEqual([[false, undefined], [true, 'complementary'], [true, 'small-cell']]);
    expect(r.total.count).toBe(20 + 15 + 3);
    expect(r.noise).toBeNull();
    expect(r.quantileResolution).toEqual({ x: 5 });
  });

  it('withholds histogram bins under the minimum, with a complementary bin', () => {
    const values = [...Array(30).fill(1), ...Array(4).fill(6)];
    const r = computeStatsResult(q, l, [...block(values), ...block(Array(30).fill(2)), ...block(Array(40).fill(3))], ctx);
    expect(r.cells[0]!.fields!.x!.histogram).toEqual([null, null]);
    const wide = [...Array(30).fill(1), ...Array(14).fill(6)];
    expect(computeStatsResult(q, l, [...block(wide), ...block(Array(30).fill(2)), ...block(Array(40).fill(3))], ctx).cells[0]!.fields!.x!.histogram).toEqual([30, 14]);
  });

  it('withholds a field of a released cell when fewer than minCellSize rows have a value', () => {
    const sums = [...block(Array.from({ length: 5 }, () => 1), 20), ...block(Array(30).fill(2)), ...block(Array(40).fill(3))];
    const r = computeStatsResult(q, l, sums, ctx);
    expect(r.cells[0]).toMatchObject({ suppressed: false, count: 25, fields: { x: null } });
  });

  it('states per-kind noise bounds in value units when DP is asked', () => {
    const noisy = parseStatsQuery({ ...q, dp: { epsilon: 1, mechanism: 'laplace' } });
    const ln = statsLayout(noisy);
    const r = computeStatsResult(noisy, ln, new Array(ln.length).fill(100n), ctx);
    const plan = noisePlan(noisy, ln);
    expect(plan.map((k) => k.kind)).toEqual(['count', 'n', 'sum', 'sumsq', 'histogram']);
    expect(plan.every((k) => k.epsilon === 1 / 5)).toBe(true);
    expect(plan.find((k) => k.kind === 'sum')!.sensitivity).toBe(100n);
    const sum = r.noise!.bounds.find((b) => b.kind === 'sum')!;
    expect(sum.bound).toBeCloseTo(noiseBound('laplace', plan[2]!, 3, ln.length) / 10, 9);
    expect(noiseBound('laplace', plan[0]!, 3, ln.length)).toBeGreaterThan(noiseBound('laplace', plan[0]!, 1, ln.length));
  });
});
