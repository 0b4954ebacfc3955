import { describe, it, expect } from '@jest/globals';
import {
  EncryptedAccumulator, HE_PARAM_SETS, MAX_COEFF_MODULUS_BITS_128, canonicalParamSetDescription, decryptExact, encryptVectorExact,
  generateKeys, getParamSet, heContext, laneLimit, paramSetDigest, paramSetProblems, valuesPerChunk, vectorHeader, type HeParamSet,
} from '../../src/he/index.js';
import { codeOf } from './helpers.js';

const sets = Object.values(HE_PARAM_SETS) as HeParamSet[];

describe('HE parameter table', () => {
  it.each(sets.map((s) => [s.id, s] as const))('%s is internally sound and within the 128-bit modulus limit', (_id, set) => {
    expect(paramSetProblems(set)).toEqual([]);
    expect(set.coeffModulusBits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_COEFF_MODULUS_BITS_128[set.polyModulusDegree]!);
  });

  it('flags an unsound entry instead of accepting it', () => {
    const base = HE_PARAM_SETS['bfv-n4096-q60-t48-2x23'];
    expect(paramSetProblems({ ...base, laneBits: 24 }).join()).toMatch(/lanes·laneBits/);
    expect(paramSetProblems({ ...base, maxSummands: 200 }).join()).toMatch(/noise bound/);
    expect(paramSetProblems({ ...base, polyModulusDegree: 2048 }).join()).toMatch(/128-bit limit|1 mod 2N/);
    expect(paramSetProblems({ ...base, plainModulus: '281474976694271' }).join()).toMatch(/1 mod 2N/);
  });

  it('digests are SHA-256 over the canonical description, distinct per set and blind to the purpose note', () => {
    const digests = sets.map((s) => paramSetDigest(s.id));
    expect(new Set(digests).size).toBe(sets.length);
    for (const d of digests) expect(d).toMatch(/^[0-9a-f]{64}$/);
    const set = sets[0]!;
    expect(canonicalParamSetDescription({ ...set, purpose: 'other words' })).toBe(canonicalParamSetDescription(set));
    expect(canonicalParamSetDescription({ ...set, laneBits: set.laneBits - 1 })).not.toBe(canonicalParamSetDescription(set));
  });

  it('refuses an unknown parameter set id', async () => {
    expect(codeOf(() => getParamSet('ckks-whatever'))).toBe('HE_UNKNOWN_PARAM_SET');
    await expect(heContext('bfv-nope')).rejects.toMatchObject({ code: 'HE_UNKNOWN_PARAM_SET' });
  });

  it.each(sets.map((s) => [s.id] as const))('SEAL accepts %s at 128-bit security with batching', async (id) => {
    const context = await heContext(id);
    expect(context.digest).toBe(paramSetDigest(id));
    expect(context.valuesPerChunk).toBe(valuesPerChunk(context.paramSet));
    expect(context.plainModulus).toBe(Number(context.paramSet.plainModulus));
  });

  it('the sum of maxSummands worst-case ciphertexts still decrypts exactly (sanity check of the noise bound)', async () => {
    const context = await heContext('bfv-n4096-q60-t48-2x23');
    const key = generateKeys(context);
    const sites = context.paramSet.maxSummands;
    const maxAbs = Math.floor(laneLimit(context.paramSet) / sites);
    const values = Array.from({ length: context.valuesPerChunk }, (_, i) => (i % 2 === 0 ? maxAbs : -maxAbs));
    const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, values.length, { kind: 'exact', maxAbs, maxSites: sites }));
    try {
      for (let s = 0; s < sites; s++) acc.addVector(`s${s}`, encryptVectorExact(context, key, values, { maxAbs, maxSites: sites }));
      const sum = decryptExact(context, key, acc.finish());
      expect(Array.from(sum)).toEqual(values.map((v) => v * sites));
    } finally {
      acc.dispose();
      key.dispose();
    }
  });
});
