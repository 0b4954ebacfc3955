import { describe, expect, it } from '@jest/globals';
import { parseStatsQuery, statsLayout } from '@medfed/proto/stats/index';
import { localStatsVector } from '../../src/statistics/local-vector.js';
import { addStatsNoise } from '../../src/statistics/add-noise.js';

describe("a site's statistics answer", () => {
  const q = parseStatsQuery({
    name: 'q', sites: ['a'], decimals: 0, statistics: ['count', 'variance', 'histogram'],
    groupBy: [{ field: 'w', categories: ['A', 'B'] }], fields: [{ name: 'x', lower: 0, upper: 10, bins: 2 }],
  });
  const l = statsLayout(q);

  it('counts rows per declared group; missing values count in the row count only; other groups are left out', () => {
    const v = localStatsVector(q, l, [
      { w: 'A', x: '2' }, { w: 'A', x: 8 }, { w: 'A', x: '' }, { w: 'B', x: '12' }, { w: 'Z', x: '1' }, { w: null, x: '1' },
    ]);
    // per cell: count, n, sum, sumsq, bin0, bin1 (12 is clamped to 10)
    expect(v).toEqual([3n, 2n, 10n, 68n, 1n, 1n, 1n, 1n, 10n, 100n, 0n, 1n]);
  });

  it('adds integer noise to every entry when DP is asked, and none otherwise', () => {
    const exact = localStatsVector(q, l, [{ w: 'A', x: '5' }]);
    const same = [...exact];
    addStatsNoise(q, l, same);
    expect(same).toEqual(exact);
    const noisy = parseStatsQuery({ ...q, dp: { epsilon: 0.01, mechanism: 'laplace' } });
    const v = [...exact];
    addStatsNoise(noisy, l, v);
    expect(v.every((x) => typeof x === 'bigint')).toBe(true);
    expect(v.filter((x, i) => x !== exact[i]).length).toBeGreaterThan(6);
  });
});
