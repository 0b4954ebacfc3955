import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { HE_PARAM_SETS, checkEncoding, laneLimit, valuesPerChunk, type HeParamSet } from '../../src/he/index.js';
import { checkValues, checkWeight, fillSlots, readCheckSlots, readSlots } from '../../src/he/encoding.js';
import { codeOf } from './helpers.js';

const sets = Object.values(HE_PARAM_SETS) as HeParamSet[];

/** Adds slot vectors mod t, as BFV addition does to the plaintexts. */
function addSlots(a: Uint32Array, b: Uint32Array, t: number): Uint32Array {
  const out = new Uint32Array(a.length);
  for (let s = 0; s < a.length / 2; s++) {
    let m = a[2 * s + 1]! * 2 ** 32 + a[2 * s]! + b[2 * s + 1]! * 2 ** 32 + b[2 * s]!;
    if (m >= t) m -= t;
    out[2 * s] = m >>> 0;
    out[2 * s + 1] = Math.floor(m / 2 ** 32);
  }
  return out;
}

describe('lane packing', () => {
  it.each(sets.map((s) => [s.id, s] as const))('sums of up to maxSites lane-bounded contributions decode exactly (%s)', (_id, set) => {
    const t = Number(set.plainModulus);
    const n = set.polyModulusDegree;
    const chunkValues = valuesPerChunk(set);
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: chunkValues }), fc.nat(1000), (sites, length, seed) => {
      const bound = Math.floor(laneLimit(set) / sites);
      let s = seed + 1;
      const rand = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const vectors = Array.from({ length: sites }, () => Array.from({ length }, () => {
        const r = rand();
        return r < 0.1 ? bound : r < 0.2 ? -bound : Math.round((rand() * 2 - 1) * bound);
      }));
      let total: Uint32Array = new Uint32Array(2 * n);
      for (const v of vectors) {
        const slots = new Uint32Array(2 * n);
        fillSlots(set, t, v, 0, 1, 7, slots);
        total = addSlots(total, slots, t);
      }
      const out = new Float64Array(length);
      readSlots(set, t, total, 0, 1, out);
      const expected = Array.from({ length }, (_, i) => vectors.reduce((acc, v) => acc + v[i]!, 0));
      expect(Array.from(out)).toEqual(expected);
      expect(readCheckSlots(set, t, total)).toEqual({ weight: 7 * sites, count: sites });
    }), { numRuns: 25 });
  });

  it('places values of later chunks at their global positions', () => {
    const set = HE_PARAM_SETS['bfv-n2048-q54-t32-1x31'];
    const t = Number(set.plainModulus);
    const per = valuesPerChunk(set);
    const values = Array.from({ length: per + 10 }, (_, i) => i - 5);
    const slots = new Uint32Array(2 * set.polyModulusDegree);
    fillSlots(set, t, values, 1, 1, 0, slots);
    const out = new Float64Array(values.length).fill(NaN);
    readSlots(set, t, slots, 1, 1, out);
    expect(Array.from(out.subarray(per))).toEqual(values.slice(per));
    expect(Number.isNaN(out[0]!)).toBe(true);
  });
});

describe('quantisation contract', () => {
  const set = HE_PARAM_SETS['bfv-n4096-q60-t48-2x23'];

  it('accepts the largest fracBits that fits maxSites·clip·2^fracBits in a lane, refuses one more', () => {
    expect(() => checkEncoding(set, { kind: 'fixed-point', clip: 1, fracBits: 17, maxSites: 16 })).not.toThrow();
    expect(codeOf(() => checkEncoding(set, { kind: 'fixed-point', clip: 1, fracBits: 18, maxSites: 16 }))).toBe('HE_QUANTISATION_INVALID');
    expect(codeOf(() => checkEncoding(set, { kind: 'fixed-point', clip: 4, fracBits: 17, maxSites: 16 }))).toBe('HE_QUANTISATION_INVALID');
  });

  it('refuses maxSites beyond the noise bound and nonsense bounds', () => {
    expect(codeOf(() => checkEncoding(set, { kind: 'fixed-point', clip: 1, fracBits: 4, maxSites: set.maxSummands + 1 }))).toBe('HE_QUANTISATION_INVALID');
    for (const bad of [{ clip: 0 }, { clip: NaN }, { fracBits: 1.5 }, { fracBits: -1 }, { maxSites: 0 }]) {
      expect(codeOf(() => checkEncoding(set, { kind: 'fixed-point', clip: 1, fracBits: 10, maxSites: 4, ...bad }))).toBe('HE_QUANTISATION_INVALID');
    }
    expect(codeOf(() => checkEncoding(set, { kind: 'exact', maxAbs: 2 ** 21, maxSites: 4 }))).toBe('HE_QUANTISATION_INVALID');
    expect(() => checkEncoding(set, { kind: 'exact', maxAbs: 2 ** 20 - 1, maxSites: 4 })).not.toThrow();
  });

  it('refuses (never clips) values outside [-clip, clip], NaN and non-integers for exact', () => {
    const enc = { kind: 'fixed-point', clip: 0.5, fracBits: 10, maxSites: 4 } as const;
    expect(() => checkValues(Float32Array.of(-0.5, 0.5, 0), enc)).not.toThrow();
    for (const bad of [0.5000001, -0.51, NaN, Infinity]) expect(codeOf(() => checkValues(Float64Array.of(0, bad), enc))).toBe('HE_VALUE_OUT_OF_RANGE');
    const exact = { kind: 'exact', maxAbs: 10, maxSites: 4 } as const;
    for (const bad of [11, -11, 1.5, NaN]) expect(codeOf(() => checkValues([bad], exact))).toBe('HE_VALUE_OUT_OF_RANGE');
    for (const bad of [-0.1, 1.01, NaN]) expect(codeOf(() => checkWeight(bad))).toBe('HE_QUANTISATION_INVALID');
  });
});
