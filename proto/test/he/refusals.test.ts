import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import fc from 'fast-check';
import {
  EncryptedAccumulator, HeError, decodeEncryptedSum, decodeEncryptedVector, decodeVectorHeader, encodeHeader, decryptAggregate, encodeEncryptedSum, encodeEncryptedVector,
  encryptUpdate, generateKeys, heContext, importSecretKey, vectorHeader,
  type EncryptedVector, type HeContext, type HeSecretKey, type HeVectorHeader,
} from '../../src/he/index.js';
import { codeOf, uniformVector } from './helpers.js';

const QUANT = { clip: 1, fracBits: 16, maxSites: 8 } as const;
const LENGTH = 20_000; // 3 chunks under the default set

let context: HeContext;
let other: HeContext;
let key: HeSecretKey;
let stranger: HeSecretKey;
let header: HeVectorHeader;
let upload: EncryptedVector;

beforeAll(async () => {
  context = await heContext('bfv-n4096-q60-t48-2x23');
  other = await heContext('bfv-n4096-q60-t40-1x39');
  key = generateKeys(context);
  stranger = generateKeys(context);
  header = vectorHeader(context, key.keyId, LENGTH, { kind: 'fixed-point', ...QUANT });
  upload = encryptUpdate(context, key, uniformVector(LENGTH, 1, 1), { ...QUANT, weight: 0.5 });
});

afterAll(() => {
  key.dispose();
  stranger.dispose();
});

function freshAccumulator(): EncryptedAccumulator {
  return EncryptedAccumulator.create(context, header);
}

/** Offset of the key id inside a chunk header (after magic, version, kind, id length, id, digest). */
function keyIdOffset(ctx: HeContext): number {
  return 7 + ctx.paramSet.id.length + 32;
}

/** A complete 3-site sum, for the decryption-side refusals. */
function threeSiteSum(): Uint8Array {
  const acc = freshAccumulator();
  try {
    for (const s of [1, 2, 3]) acc.addVector(`site-${s}`, encryptUpdate(context, key, uniformVector(LENGTH, 1, s), { ...QUANT, weight: 0.25 }));
    return acc.finish();
  } finally {
    acc.dispose();
  }
}

describe('parameter mismatches are refused before use', () => {
  it('a chunk made under another parameter set', () => {
    const otherKey = generateKeys(other);
    try {
      const foreign = encryptUpdate(other, otherKey, uniformVector(100, 1, 2), { ...QUANT, weight: 1 });
      const acc = freshAccumulator();
      expect(codeOf(() => acc.addChunk('site-x', foreign.chunks[0]!))).toBe('HE_PARAMS_MISMATCH');
      expect(codeOf(() => acc.checkHeader(foreign.header))).toBe('HE_PARAMS_MISMATCH');
      expect(codeOf(() => decodeEncryptedVector(context, encodeEncryptedVector(foreign)))).toBe('HE_PARAMS_MISMATCH');
      expect(acc.contributors()).toEqual([]);
      acc.dispose();
    } finally {
      otherKey.dispose();
    }
  });

  it('a chunk whose parameter digest differs, even under the same set id', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const chunk = upload.chunks[0]!.slice();
      chunk[7 + context.paramSet.id.length + at]! ^= flip;
      const acc = freshAccumulator();
      expect(codeOf(() => acc.addChunk('site-a', chunk))).toBe('HE_PARAMS_MISMATCH');
      acc.dispose();
    }), { numRuns: 20 });
  });
});

describe('garbage and truncated ciphertexts are refused with HE_CIPHERTEXT_MALFORMED, never a crash', () => {
  it('random bytes', () => {
    const acc = freshAccumulator();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40_000 }), (bytes) => {
      expect(codeOf(() => acc.addChunk('site-a', bytes))).toBe('HE_CIPHERTEXT_MALFORMED');
    }), { numRuns: 50 });
    expect(acc.contributors()).toEqual([]);
    acc.dispose();
  });

  it('every kind of truncation of an honest chunk', () => {
    const chunk = upload.chunks[1]!;
    const acc = freshAccumulator();
    for (const length of [0, 3, 6, 20, keyIdOffset(context), keyIdOffset(context) + 24, chunk.length - context.slotCount, chunk.length - 1]) {
      expect(codeOf(() => acc.addChunk('site-a', chunk.subarray(0, length)))).toBe('HE_CIPHERTEXT_MALFORMED');
    }
    expect(codeOf(() => acc.addChunk('site-a', new Uint8Array([...chunk, 0])))).toBe('HE_CIPHERTEXT_MALFORMED');
    acc.dispose();
  });

  it('a coefficient at or above q, an unknown PRNG, a sum chunk where an upload is expected', () => {
    const acc = freshAccumulator();
    const highCoefficient = upload.chunks[0]!.slice();
    highCoefficient.fill(0xff, highCoefficient.length - 8);
    expect(codeOf(() => acc.addChunk('site-a', highCoefficient))).toBe('HE_CIPHERTEXT_MALFORMED');
    const prng = upload.chunks[0]!.slice();
    prng[keyIdOffset(context) + 16 + 8]! ^= 0x03;
    expect(codeOf(() => acc.addChunk('site-a', prng))).toBe('HE_CIPHERTEXT_MALFORMED');
    const kind = upload.chunks[0]!.slice();
    kind[5] = 2;
    expect(codeOf(() => acc.addChunk('site-a', kind))).toBe('HE_CIPHERTEXT_MALFORMED');
    expect(acc.missingChunks('site-a')).toEqual([0, 1, 2]);
    acc.dispose();
  });

  it('any single-byte change of an honest chunk is either refused with a code or loads as a well-formed ciphertext', () => {
    const codes = new Set(['HE_CIPHERTEXT_MALFORMED', 'HE_PARAMS_MISMATCH', 'HE_KEY_MISMATCH', 'HE_SHAPE_MISMATCH']);
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const chunk = upload.chunks[2]!.slice();
      chunk[at % chunk.length]! ^= flip;
      const acc = freshAccumulator();
      try {
        acc.addChunk('site-a', chunk);
      } catch (err) {
        expect(err).toBeInstanceOf(HeError);
        expect(codes.has((err as HeError).code)).toBe(true);
      } finally {
        acc.dispose();
      }
    }), { numRuns: 60 });
  });

  it('a stream header sent on its own round-trips, and garbage in its place is refused', () => {
    expect(decodeVectorHeader(context, encodeHeader(upload.header))).toEqual(upload.header);
    expect(codeOf(() => decodeVectorHeader(context, new TextEncoder().encode('{"format":')))).toBe('HE_CIPHERTEXT_MALFORMED');
    const otherSet = { ...upload.header, paramSetId: 'bfv-n4096-q60-t40-1x39' };
    expect(codeOf(() => decodeVectorHeader(context, encodeHeader(otherSet)))).toBe('HE_PARAMS_MISMATCH');
    const lying = { ...upload.header, chunkCount: upload.header.chunkCount + 1 };
    expect(codeOf(() => decodeVectorHeader(context, encodeHeader(lying)))).toBe('HE_CIPHERTEXT_MALFORMED');
  });

  it('garbage, truncated or extended upload containers', () => {
    const wire = encodeEncryptedVector(upload);
    expect(codeOf(() => decodeEncryptedVector(context, wire.subarray(0, wire.length - 1)))).toBe('HE_CIPHERTEXT_MALFORMED');
    expect(codeOf(() => decodeEncryptedVector(context, new Uint8Array([...wire, 1])))).toBe('HE_CIPHERTEXT_MALFORMED');
    expect(codeOf(() => decodeEncryptedVector(context, new Uint8Array(12)))).toBe('HE_CIPHERTEXT_MALFORMED');
    const badHeader = encodeEncryptedVector({ header: { ...upload.header, extra: 1 } as unknown as HeVectorHeader, chunks: upload.chunks });
    expect(codeOf(() => decodeEncryptedVector(context, badHeader))).toBe('HE_CIPHERTEXT_MALFORMED');
    const fewer = encodeEncryptedVector({ header: upload.header, chunks: upload.chunks.slice(1) });
    expect(codeOf(() => decodeEncryptedVector(context, fewer))).toBe('HE_CIPHERTEXT_MALFORMED');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      expect(codeOf(() => decodeEncryptedVector(context, bytes))).toBe('HE_CIPHERTEXT_MALFORMED');
    }), { numRuns: 50 });
  });
});

describe('keys, shapes and aggregation rules', () => {
  it('a ciphertext under another key set is refused by its key id', () => {
    const acc = freshAccumulator();
    const foreign = encryptUpdate(context, stranger, uniformVector(LENGTH, 1, 3), { ...QUANT, weight: 0.5 });
    expect(codeOf(() => acc.addVector('site-a', foreign))).toBe('HE_KEY_MISMATCH');
    expect(codeOf(() => acc.addChunk('site-a', foreign.chunks[0]!))).toBe('HE_KEY_MISMATCH');
    acc.dispose();
    expect(codeOf(() => decryptAggregate(context, stranger, threeSiteSum(), { totalWeight: 0.75 }))).toBe('HE_KEY_MISMATCH');
  });

  it('decrypting with another key set gives noise, which the check slots detect', () => {
    const sum = decodeEncryptedSum(context, threeSiteSum());
    const relabel = (chunk: Uint8Array): Uint8Array => {
      const copy = chunk.slice();
      copy.set(stranger.keyIdBytes, keyIdOffset(context));
      return copy;
    };
    const forged = encodeEncryptedSum({ header: { ...sum.header, keyId: stranger.keyId }, chunks: sum.chunks.map(relabel) });
    expect(codeOf(() => decryptAggregate(context, stranger, forged, { totalWeight: 0.75 }))).toBe('HE_DECRYPTION_CHECK_FAILED');
  });

  it('a false contributor list or total weight is detected after decryption', () => {
    const sum = decodeEncryptedSum(context, threeSiteSum());
    const padded = encodeEncryptedSum({ header: { ...sum.header, contributors: [...sum.header.contributors, 'site-ghost'] }, chunks: sum.chunks });
    expect(codeOf(() => decryptAggregate(context, key, padded, { totalWeight: 0.75 }))).toBe('HE_DECRYPTION_CHECK_FAILED');
    const honest = encodeEncryptedSum(sum);
    expect(codeOf(() => decryptAggregate(context, key, honest, { totalWeight: 1 }))).toBe('HE_AGGREGATE_INCONSISTENT');
    expect(decryptAggregate(context, key, honest, { totalWeight: 0.75 })).toHaveLength(LENGTH);
  });

  it('too few contributors are refused at finish and at decryption', () => {
    const acc = freshAccumulator();
    acc.addVector('site-a', upload);
    acc.addVector('site-b', encryptUpdate(context, key, uniformVector(LENGTH, 1, 9), { ...QUANT, weight: 0.5 }));
    expect(codeOf(() => acc.finish())).toBe('HE_TOO_FEW_CONTRIBUTORS');
    const two = acc.finish({ minContributors: 2 });
    acc.dispose();
    expect(codeOf(() => decryptAggregate(context, key, two, { totalWeight: 1 }))).toBe('HE_TOO_FEW_CONTRIBUTORS');
    expect(decryptAggregate(context, key, two, { totalWeight: 1, minContributors: 2 })).toHaveLength(LENGTH);
  });

  it('duplicates, extra contributors, partial contributions and wrong shapes', () => {
    const acc = EncryptedAccumulator.create(context, vectorHeader(context, key.keyId, LENGTH, { kind: 'fixed-point', ...QUANT, maxSites: 3 }));
    const quant3 = { ...QUANT, maxSites: 3, weight: 0.2 };
    const v = encryptUpdate(context, key, uniformVector(LENGTH, 1, 4), quant3);
    acc.addChunk('site-a', v.chunks[0]!);
    expect(codeOf(() => acc.addChunk('site-a', v.chunks[0]!))).toBe('HE_DUPLICATE_CHUNK');
    expect(acc.missingChunks('site-a')).toEqual([1, 2]);
    acc.addVector('site-b', encryptUpdate(context, key, uniformVector(LENGTH, 1, 5), quant3));
    acc.addVector('site-c', encryptUpdate(context, key, uniformVector(LENGTH, 1, 6), quant3));
    expect(codeOf(() => acc.addChunk('site-d', v.chunks[1]!))).toBe('HE_TOO_MANY_SUMMANDS');
    expect(codeOf(() => acc.finish())).toBe('HE_AGGREGATE_INCOMPLETE');
    expect(codeOf(() => acc.addVector('site-e', upload))).toBe('HE_SHAPE_MISMATCH'); // maxSites 8 vs 3
    const shorter = encryptUpdate(context, key, uniformVector(LENGTH - 1, 1, 7), quant3);
    expect(codeOf(() => acc.addVector('site-e', shorter))).toBe('HE_SHAPE_MISMATCH');
    acc.addChunk('site-a', v.chunks[2]!);
    acc.addChunk('site-a', v.chunks[1]!);
    expect(acc.isComplete()).toBe(true);
    expect(decryptAggregate(context, key, acc.finish(), { totalWeight: 0.6 })).toHaveLength(LENGTH);
    acc.dispose();
    expect(codeOf(() => acc.addChunk('site-a', v.chunks[0]!))).toBe('HE_DISPOSED');
  });

  it('encryption refuses out-of-range values, a foreign key and unusable bounds', () => {
    const values = uniformVector(100, 1, 8);
    values[42] = 1.5;
    expect(codeOf(() => encryptUpdate(context, key, values, { ...QUANT, weight: 1 }))).toBe('HE_VALUE_OUT_OF_RANGE');
    values[42] = NaN;
    expect(codeOf(() => encryptUpdate(context, key, values, { ...QUANT, weight: 1 }))).toBe('HE_VALUE_OUT_OF_RANGE');
    const otherKey = generateKeys(other);
    expect(codeOf(() => encryptUpdate(context, otherKey, uniformVector(10, 1, 1), { ...QUANT, weight: 1 }))).toBe('HE_KEY_MISMATCH');
    otherKey.dispose();
    expect(codeOf(() => encryptUpdate(context, key, uniformVector(10, 1, 1), { ...QUANT, fracBits: 30, weight: 1 }))).toBe('HE_QUANTISATION_INVALID');
    expect(codeOf(() => encryptUpdate(context, key, uniformVector(10, 1, 1), { ...QUANT, weight: 2 }))).toBe('HE_QUANTISATION_INVALID');
  });

  it('secret key bytes that do not load are refused', () => {
    expect(codeOf(() => importSecretKey(context, new Uint8Array(64)))).toBe('HE_SECRET_KEY_INVALID');
    const exported = key.export();
    expect(codeOf(() => importSecretKey(other, exported.slice(0, exported.length - 10)))).toBe('HE_SECRET_KEY_INVALID');
    exported.fill(0);
  });
});
