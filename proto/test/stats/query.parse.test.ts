import { describe, expect, it } from '@jest/globals';
import { parseStatsQuery, parseStatsQueryText } from '../../src/stats/index.js';

const minimal = { name: 'q', sites: ['site-a', 'site-b', 'site-c'] };

describe('statistics query schema', () => {
  it('fills defaults: count only, minimum cell size 11, encrypted, two decimals', () => {
    const q = parseStatsQuery(minimal);
    expect(q).toMatchObject({ statistics: ['count'], minCellSize: 11, decimals: 2, fields: [], groupBy: [], encryption: { enabled: true } });
  });

  it('reads YAML', () => {
    const q = parseStatsQueryText('name: q\nsites: [site-a]\nfields:\n  - {name: age, lower: 0, upper: 100}\nstatistics: [mean]\n');
    expect(q.fields[0]).toEqual({ name: 'age', lower: 0, upper: 100, bins: 10 });
  });

  it.each([
    ['an unknown key', { ...minimal, where: 'x' }, /additionalProperties|where/],
    ['an unknown statistic', { ...minimal, statistics: ['median'] }, /statistics/],
    ['a field used twice', { ...minimal, fields: [{ name: 'a', lower: 0, upper: 1 }], groupBy: [{ field: 'a', categories: ['x'] }] }, /used twice/],
    ['an empty range', { ...minimal, fields: [{ name: 'a', lower: 5, upper: 5 }], statistics: ['sum'] }, /greater than lower/],
    ['a statistic without a field', { ...minimal, statistics: ['mean'] }, /need at least one field/],
    ['gaussian without delta', { ...minimal, dp: { epsilon: 1, mechanism: 'gaussian' } }, /needs a delta/],
    ['laplace with a delta', { ...minimal, dp: { epsilon: 1, delta: 1e-6, mechanism: 'laplace' } }, /drop delta/],
    ['a duplicated category', { ...minimal, groupBy: [{ field: 'w', categories: ['a', 'a'] }] }, /declared twice/],
    ['a site listed twice', { ...minimal, sites: ['site-a', 'site-a'] }, /listed twice/],
  ])('refuses %s with JOB_SPEC_INVALID', (_what, input, message) => {
    let err: unknown;
    try {
      parseStatsQuery(input);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('JOB_SPEC_INVALID');
    expect((err as Error).message).toMatch(message);
  });

  it('refuses YAML that does not parse, naming the source', () => {
    expect(() => parseStatsQueryText('name: [', 'q.yaml')).toThrow(/q.yaml is not valid YAML/);
  });
});
