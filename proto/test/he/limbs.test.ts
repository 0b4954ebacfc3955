import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fromLimbs, LIMB_MAX_ABS, LIMBS, MAX_LIMB_SITES, toLimbs } from '../../src/he/limbs.js';

describe('exact multi-limb statistics', () => {
  it('round-trips and sums exactly, including large sums of squares and negatives', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 40 }),
      (sites) => {
        const summed = new Float64Array(4 * LIMBS);
        for (const values of sites) {
          const limbs = toLimbs(values);
          for (const l of limbs) expect(Math.abs(l)).toBeLessThanOrEqual(LIMB_MAX_ABS);
          limbs.forEach((v, i) => { summed[i]! += v; });
        }
        const got = fromLimbs(summed);
        for (let j = 0; j < 4; j++) {
          // exact up to each site's rounding to 2^-20 (the reference itself is a double sum)
          const want = Number(sites.reduce((s, v) => s + BigInt(Math.round(v[j]! * 2 ** 20)), 0n)) / 2 ** 20;
          expect(Math.abs(got[j]! - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-15 + 1e-9);
        }
      }));
  });

  it('keeps a limb sum over the most sites inside a 23-bit lane of the default parameter set', () => {
    expect(MAX_LIMB_SITES * LIMB_MAX_ABS).toBeLessThanOrEqual(2 ** 22 - 1);
  });

  it('refuses values outside the exact range and non-finite values', () => {
    expect(() => toLimbs([2 ** 80])).toThrow(/exceeds/);
    expect(() => toLimbs([Number.NaN])).toThrow(/finite/);
  });
});
