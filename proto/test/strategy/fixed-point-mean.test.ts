import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  EncryptedAccumulator, decodeEncryptedVector, decryptAggregate, encodeEncryptedVector, encryptUpdate, generateKeys, heContext,
  vectorHeader, type HeContext, type HeSecretKey,
} from '../../src/he/index.js';
import { applyServerStep, FixedPointMean, paramsSha256, resolveStrategy, toMeanDelta, type ServerState } from '../../src/strategy/index.js';
import { uniformVector } from '../he/helpers.js';

const MAX_SITES = 8;
const FRAC_BITS = 16;
const CLIP = 1;

function encryptedMean(context: HeContext, key: HeSecretKey, updates: Float32Array[], weights: number[]): Float32Array {
  const quant = { clip: CLIP, fracBits: FRAC_BITS, maxSites: MAX_SITES };
  const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, updates[0]!.length, { kind: 'fixed-point', ...quant }));
  try {
    updates.forEach((u, s) => acc.addVector(`site-${s}`, decodeEncryptedVector(context, encodeEncryptedVector(encryptUpdate(context, key, u, { ...quant, weight: weights[s]! })))));
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    return toMeanDelta(decryptAggregate(context, key, acc.finish(), { totalWeight }));
  } finally {
    acc.dispose();
  }
}

function plaintextMean(updates: Float32Array[], weights: number[]): Float32Array {
  const mean = new FixedPointMean(updates[0]!.length, FRAC_BITS);
  updates.forEach((u, s) => mean.add(u, weights[s]!));
  return mean.mean(weights.reduce((a, b) => a + b, 0));
}

describe('the plaintext runner computes what an encrypted round decrypts, bit for bit', () => {
  let context: HeContext;
  let key: HeSecretKey;
  beforeAll(async () => {
    context = await heContext('bfv-n4096-q60-t48-2x23');
    key = generateKeys(context);
  });
  afterAll(() => key.dispose());

  it('FixedPointMean equals decryptAggregate of the same updates and weights', () => {
    const weights = [0.5, 0.3125, 0.1875];
    const updates = weights.map((_, s) => uniformVector(9000, CLIP, 11 + s));
    expect(Array.from(plaintextMean(updates, weights))).toEqual(Array.from(encryptedMean(context, key, updates, weights)));
  });

  it('five rounds of fedadam: the plaintext runner and a site decrypting the sums hold models with the same digest every round, within 1e-4 (relative L2) of float arithmetic', () => {
    const strategy = resolveStrategy({ name: 'fedadam', serverLearningRate: 0.03 }, { encrypted: true });
    const weights = [0.25, 0.25, 0.5];
    let plain = uniformVector(3000, 0.5, 99);
    let site = plain;
    let float = plain;
    let plainState: ServerState | null = null;
    let siteState: ServerState | null = null;
    let floatState: ServerState | null = null;
    for (let round = 1; round <= 5; round++) {
      const updates = weights.map((_, s) => uniformVector(3000, CLIP, 1000 * round + s));
      const p = applyServerStep(strategy, plain, plaintextMean(updates, weights), plainState);
      const e = applyServerStep(strategy, site, encryptedMean(context, key, updates, weights), siteState);
      expect(paramsSha256(e.global)).toBe(paramsSha256(p.global));
      // The unquantised float32 mean, for the size of the quantisation's effect.
      const exact = new Float32Array(3000);
      for (let i = 0; i < exact.length; i++) exact[i] = updates.reduce((s, u, k) => s + weights[k]! * u[i]!, 0);
      const f = applyServerStep(strategy, float, exact, floatState);
      let num = 0;
      let den = 0;
      for (let i = 0; i < exact.length; i++) { num += (p.global[i]! - f.global[i]!) ** 2; den += f.global[i]! ** 2; }
      expect(Math.sqrt(num / den)).toBeLessThanOrEqual(1e-4);
      [plain, plainState, site, siteState, float, floatState] = [p.global, p.state, e.global, e.state, f.global, f.state];
    }
  });
});
