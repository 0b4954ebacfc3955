import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import fc from 'fast-check';
import {
  EncryptedAccumulator, decodeEncryptedVector, decryptAggregate, decryptExact, encodeEncryptedVector, encryptUpdate, encryptVectorExact,
  generateKeys, heContext, importSecretKey, laneLimit, vectorHeader, type HeContext, type HeSecretKey,
} from '../../src/he/index.js';
import { compare, uniformVector, weightedAverage } from './helpers.js';

const MAX_SITES = 16;

/** Largest fracBits the lanes allow for clip and MAX_SITES (the same rule docs/crypto.md gives). */
function fracBitsFor(context: HeContext, clip: number): number {
  const limit = laneLimit(context.paramSet);
  let f = 0;
  const slotLimit = (context.plainModulus - 1) / 2;
  while (MAX_SITES * Math.ceil(clip * 2 ** (f + 1)) <= limit && MAX_SITES * 2 ** (f + 1) <= slotLimit) f++;
  return f;
}

interface Round { readonly average: Float64Array; readonly expected: Float64Array; readonly fracBits: number; readonly totalWeight: number }

/** Sites encrypt and upload over the wire format; the coordinator aggregates; a site decrypts. */
function runRound(context: HeContext, key: HeSecretKey, updates: Float32Array[], weights: number[], clip: number): Round {
  const fracBits = fracBitsFor(context, clip);
  const quant = { clip, fracBits, maxSites: MAX_SITES };
  const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, updates[0]!.length, { kind: 'fixed-point', ...quant }));
  try {
    updates.forEach((u, s) => {
      const wire = encodeEncryptedVector(encryptUpdate(context, key, u, { ...quant, weight: weights[s]! }));
      acc.addVector(`site-${s}`, decodeEncryptedVector(context, wire));
    });
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    const average = decryptAggregate(context, key, acc.finish(), { totalWeight });
    return { average, expected: weightedAverage(updates, weights), fracBits, totalWeight };
  } finally {
    acc.dispose();
  }
}

describe.each(['bfv-n4096-q60-t48-2x23', 'bfv-n4096-q60-t40-1x39'])('encrypted weighted average under %s', (paramSetId) => {
  let context: HeContext;
  let key: HeSecretKey;
  beforeAll(async () => {
    context = await heContext(paramSetId);
    key = generateKeys(context);
  });
  afterAll(() => key.dispose());

  it('equals the plaintext weighted average within the quantisation bound, and within relative L2 1e-4', () => {
    fc.assert(fc.property(
      fc.integer({ min: 3, max: 8 }), fc.integer({ min: 1000, max: 20_000 }), fc.constantFrom(0.1, 1, 3), fc.nat(), fc.array(fc.double({ min: 0.1, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }),
      (sites, length, clip, seed, weightPool) => {
        const updates = Array.from({ length: sites }, (_, s) => uniformVector(length, clip, seed + s));
        const weights = weightPool.slice(0, sites);
        const { average, expected, fracBits, totalWeight } = runRound(context, key, updates, weights, clip);
        const error = compare(average, expected);
        // Guaranteed: each site's rounding is at most half a quantum.
        expect(error.maxAbs).toBeLessThanOrEqual((sites * 2 ** -(fracBits + 1)) / totalWeight + 1e-12);
        expect(error.relativeL2).toBeLessThanOrEqual(1e-4);
      },
    ), { numRuns: 6 });
  });

  it('decrypts to the same doubles, bit for bit, at every key holder', () => {
    const other = importSecretKey(context, key.export());
    try {
      const updates = [1, 2, 3].map((s) => uniformVector(3000, 1, s));
      const fracBits = fracBitsFor(context, 1);
      const quant = { clip: 1, fracBits, maxSites: MAX_SITES };
      const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, 3000, { kind: 'fixed-point', ...quant }));
      updates.forEach((u, s) => acc.addVector(`s${s}`, encryptUpdate(context, s === 0 ? other : key, u, { ...quant, weight: 0.3 })));
      const sum = acc.finish();
      acc.dispose();
      const a = decryptAggregate(context, key, sum, { totalWeight: 0.9 });
      const b = decryptAggregate(context, other, sum, { totalWeight: 0.9 });
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      expect(compare(a, weightedAverage(updates, [0.3, 0.3, 0.3])).relativeL2).toBeLessThan(1e-4);
    } finally {
      other.dispose();
    }
  });
});

describe('model sizes beyond one ciphertext', () => {
  let context: HeContext;
  let key: HeSecretKey;
  beforeAll(async () => {
    context = await heContext('bfv-n4096-q60-t48-2x23');
    key = generateKeys(context);
  });
  afterAll(() => key.dispose());

  it('aggregates a single 51,200-value layer (several ciphertexts, no per-layer slot limit)', () => {
    const updates = [11, 12, 13, 14].map((s) => uniformVector(51_200, 0.5, s));
    const weights = [0.4, 0.3, 0.2, 0.1];
    const { average, expected } = runRound(context, key, updates, weights, 0.5);
    expect(Math.ceil(51_200 / context.valuesPerChunk)).toBeGreaterThan(1);
    expect(compare(average, expected).relativeL2).toBeLessThanOrEqual(1e-4);
  });

  it('aggregates a 1,000,000-parameter model from 3 sites', () => {
    const updates = [21, 22, 23].map((s) => uniformVector(1_000_000, 1, s));
    const weights = [0.5, 0.25, 0.25];
    const { average, expected } = runRound(context, key, updates, weights, 1);
    expect(average.length).toBe(1_000_000);
    expect(compare(average, expected).relativeL2).toBeLessThanOrEqual(1e-4);
  });
});

describe.each(['bfv-n2048-q54-t32-1x31', 'bfv-n4096-q60-t48-2x23'])('exact integer path under %s', (paramSetId) => {
  let context: HeContext;
  let key: HeSecretKey;
  beforeAll(async () => {
    context = await heContext(paramSetId);
    key = generateKeys(context);
  });
  afterAll(() => key.dispose());

  it('decrypts to the exact integer sums (counts, sums, histograms), including the extremes', () => {
    fc.assert(fc.property(fc.integer({ min: 3, max: 6 }), fc.integer({ min: 1, max: 5000 }), fc.nat(), (sites, length, seed) => {
      const maxSites = 8;
      const maxAbs = Math.floor(laneLimit(context.paramSet) / maxSites);
      let s = seed + 7;
      const rand = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const vectors = Array.from({ length: sites }, () => Array.from({ length }, (_, i) => (i === 0 ? maxAbs : i === 1 ? -maxAbs : Math.round((rand() * 2 - 1) * maxAbs))));
      const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, length, { kind: 'exact', maxAbs, maxSites }));
      try {
        vectors.forEach((v, i) => acc.addVector(`site-${i}`, encryptVectorExact(context, key, v, { maxAbs, maxSites })));
        const sums = decryptExact(context, key, acc.finish());
        const expected = Array.from({ length }, (_, i) => vectors.reduce((a, v) => a + v[i]!, 0));
        expect(Array.from(sums)).toEqual(expected);
        expect(sums.every((x) => Number.isSafeInteger(x))).toBe(true);
      } finally {
        acc.dispose();
      }
    }), { numRuns: 5 });
  });
});
