import { describe, expect, it } from '@jest/globals';
import { suppressCells } from '../../src/stats/index.js';

describe('small-cell suppression of pooled counts', () => {
  it('suppresses cells under the minimum, keeps empty cells, and needs no complement when two are suppressed', () => {
    const out = suppressCells([40, 3, 0, 12, 5], 11, false);
    expect(out.suppressed).toEqual([false, true, false, false, true]);
    expect(out.complementary).toEqual([]);
  });

  it('suppresses the smallest other non-empty cell when a lone suppressed cell could be derived from the total', () => {
    const out = suppressCells([40, 3, 0, 12, 25], 11, false);
    expect(out.suppressed).toEqual([false, true, false, true, false]);
    expect(out.complementary).toEqual([3]);
  });

  it('with noise, also suppresses zero and negative counts (they are not known to be empty)', () => {
    expect(suppressCells([-2, 0, 30, 31], 11, true).suppressed).toEqual([true, true, false, false]);
  });

  it('releases everything when no cell is small', () => {
    expect(suppressCells([11, 20], 11, false)).toEqual({ suppressed: [false, false], complementary: [] });
  });
});
