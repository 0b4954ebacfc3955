import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import fc from 'fast-check';
import {
  EncryptedAccumulator, decryptAggregate, encryptUpdate, generateKeys, heContext, vectorHeader,
  type EncryptedVector, type HeContext, type HeSecretKey, type HeVectorHeader,
} from '../../src/he/index.js';
import { codeOf, compare, uniformVector, weightedAverage } from './helpers.js';

const QUANT = { clip: 1, fracBits: 17, maxSites: 16 } as const;
const LENGTH = 30_000; // 4 chunks under the default set
const WEIGHTS = [0.5, 0.3, 0.2];

let context: HeContext;
let key: HeSecretKey;
let header: HeVectorHeader;
let updates: Float32Array[];
let uploads: EncryptedVector[];
let expected: Float64Array;

beforeAll(async () => {
  context = await heContext('bfv-n4096-q60-t48-2x23');
  key = generateKeys(context);
  header = vectorHeader(context, key.keyId, LENGTH, { kind: 'fixed-point', ...QUANT });
  updates = WEIGHTS.map((_, s) => uniformVector(LENGTH, 1, 100 + s));
  uploads = updates.map((u, s) => encryptUpdate(context, key, u, { ...QUANT, weight: WEIGHTS[s]! }));
  expected = weightedAverage(updates, WEIGHTS);
});

afterAll(() => key.dispose());

function decrypt(sum: Uint8Array): Float64Array {
  return decryptAggregate(context, key, sum, { totalWeight: 1 });
}

describe('EncryptedAccumulator', () => {
  it('streams chunks in any order, interleaved across sites, to the same aggregate as whole uploads', () => {
    const whole = EncryptedAccumulator.create(context, header);
    uploads.forEach((u, s) => whole.addVector(`site-${s}`, u));
    const reference = decrypt(whole.finish());
    whole.dispose();
    expect(compare(reference, expected).relativeL2).toBeLessThan(1e-4);
    const messages = uploads.flatMap((u, s) => u.chunks.map((chunk) => ({ site: `site-${s}`, chunk })));
    fc.assert(fc.property(fc.shuffledSubarray(messages, { minLength: messages.length, maxLength: messages.length }), (order) => {
      const acc = EncryptedAccumulator.create(context, header);
      try {
        for (const { site, chunk } of order) acc.addChunk(site, chunk);
        expect(acc.isComplete()).toBe(true);
        expect(Buffer.from(decrypt(acc.finish()).buffer).equals(Buffer.from(reference.buffer))).toBe(true);
      } finally {
        acc.dispose();
      }
    }), { numRuns: 4 });
  });

  it('saves and loads its running state mid-stream and carries on', () => {
    const acc = EncryptedAccumulator.create(context, header);
    acc.addVector('site-0', uploads[0]!);
    acc.addChunk('site-1', uploads[1]!.chunks[2]!);
    const state = acc.save();
    acc.dispose();
    const resumed = EncryptedAccumulator.load(context, state);
    expect(resumed.contributors()).toEqual(['site-0', 'site-1']);
    expect(resumed.missingChunks('site-1')).toEqual([0, 1, 3]);
    expect(codeOf(() => resumed.addChunk('site-1', uploads[1]!.chunks[2]!))).toBe('HE_DUPLICATE_CHUNK');
    for (const i of [0, 1, 3]) resumed.addChunk('site-1', uploads[1]!.chunks[i]!);
    resumed.addVector('site-2', uploads[2]!);
    expect(compare(decrypt(resumed.finish()), expected).relativeL2).toBeLessThan(1e-4);
    expect(EncryptedAccumulator.load(context, resumed.save()).contributors()).toEqual(['site-0', 'site-1', 'site-2']);
    resumed.dispose();
  });

  it('refuses a corrupted or truncated saved state', () => {
    const acc = EncryptedAccumulator.create(context, header);
    acc.addVector('site-0', uploads[0]!);
    const state = acc.save();
    acc.dispose();
    expect(codeOf(() => EncryptedAccumulator.load(context, state.subarray(0, state.length - 100)))).toBe('HE_STATE_MALFORMED');
    const highCoefficient = state.slice();
    highCoefficient.fill(0xff, state.length - 16);
    expect(codeOf(() => EncryptedAccumulator.load(context, highCoefficient))).toBe('HE_STATE_MALFORMED');
    const text = new TextDecoder().decode(state.subarray(0, 2000));
    const at = text.indexOf('"added":[[0]');
    expect(at).toBeGreaterThan(0);
    const noContributors = state.slice();
    noContributors[at + 10] = '1'.charCodeAt(0); // names contributor 1, which does not exist
    expect(codeOf(() => EncryptedAccumulator.load(context, noContributors))).toBe('HE_STATE_MALFORMED');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      expect(codeOf(() => EncryptedAccumulator.load(context, bytes))).toBe('HE_STATE_MALFORMED');
    }), { numRuns: 30 });
  });

  it('adds a whole upload atomically: a bad last chunk leaves the sum as it was', () => {
    const acc = EncryptedAccumulator.create(context, header);
    acc.addVector('site-0', uploads[0]!);
    const broken = uploads[1]!.chunks.map((c, i) => (i === uploads[1]!.chunks.length - 1 ? c.subarray(0, 100) : c));
    expect(codeOf(() => acc.addVector('site-1', { header: uploads[1]!.header, chunks: broken }))).toBe('HE_CIPHERTEXT_MALFORMED');
    expect(acc.contributors()).toEqual(['site-0']);
    expect(acc.isComplete()).toBe(true);
    acc.addVector('site-1', uploads[1]!);
    acc.addVector('site-2', uploads[2]!);
    expect(compare(decrypt(acc.finish()), expected).relativeL2).toBeLessThan(1e-4);
    acc.dispose();
  });

  it('lets a contributor finish with a fresh encryption after its stream broke', () => {
    const acc = EncryptedAccumulator.create(context, header);
    acc.addChunk('site-0', uploads[0]!.chunks[0]!);
    const again = encryptUpdate(context, key, updates[0]!, { ...QUANT, weight: WEIGHTS[0]! });
    for (const i of acc.missingChunks('site-0')) acc.addChunk('site-0', again.chunks[i]!);
    acc.addVector('site-1', uploads[1]!);
    acc.addVector('site-2', uploads[2]!);
    expect(compare(decrypt(acc.finish()), expected).relativeL2).toBeLessThan(1e-4);
    acc.dispose();
  });

  it('refuses to be created for a header that does not fit the context', () => {
    expect(codeOf(() => EncryptedAccumulator.create(context, { ...header, chunkCount: header.chunkCount + 1 }))).toBe('HE_SHAPE_MISMATCH');
    expect(codeOf(() => EncryptedAccumulator.create(context, { ...header, paramsDigest: '0'.repeat(64) }))).toBe('HE_PARAMS_MISMATCH');
  });
});
