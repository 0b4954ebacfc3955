import { CHUNK_KIND, loadSumChunk } from './chunk.js';
import type { HeContext } from './context.js';
import { readCheckSlots, readSlots } from './encoding.js';
import { HeError } from './errors.js';
import { DEFAULT_MIN_CONTRIBUTORS } from './accumulator.js';
import type { HeSecretKey } from './secret-key.js';
import { decodeEncryptedSum, type EncryptedSum } from './vector.js';

export interface DecryptAggregateOptions {
  /**
   * Σ w_i over the sites that contributed (the coordinator says who). It is checked against the
   * decrypted weight check slot, within the quantisation bound.
   */
  readonly totalWeight: number;
  /** Refuse sums of fewer contributions (default 3). */
  readonly minContributors?: number;
}

function openSum(context: HeContext, key: HeSecretKey, bytes: Uint8Array, kind: 'fixed-point' | 'exact', minContributors: number): EncryptedSum {
  if (key.context !== context) throw new HeError('HE_KEY_MISMATCH', `the secret key belongs to parameter set ${key.context.paramSet.id}, not ${context.paramSet.id}`);
  const sum = decodeEncryptedSum(context, bytes);
  if (sum.header.keyId !== key.keyId) {
    throw new HeError('HE_KEY_MISMATCH', `the aggregate is under key ${sum.header.keyId}; this site holds key ${key.keyId}`);
  }
  if (sum.header.encoding.kind !== kind) {
    throw new HeError('HE_SHAPE_MISMATCH', `the aggregate holds ${sum.header.encoding.kind} values; use ${sum.header.encoding.kind === 'exact' ? 'decryptExact' : 'decryptAggregate'}`);
  }
  if (sum.header.contributors.length < minContributors) {
    throw new HeError('HE_TOO_FEW_CONTRIBUTORS', `the aggregate has ${sum.header.contributors.length} contributors; at least ${minContributors} are required before decrypting`);
  }
  return sum;
}

/**
 * Decrypts every chunk, checks the count slot equals the contributor count (a wrong key, a
 * tampered sum or a false contributor list decrypts to noise there), and passes each chunk's
 * slots to `read`.
 */
function decryptChunks(context: HeContext, key: HeSecretKey, sum: EncryptedSum, read: (chunk: number, slotWords: Uint32Array) => void): void {
  const decryptor = key.decryptor();
  const { scratchCipher, scratchPlain, encoder } = context;
  const expect = { kind: CHUNK_KIND.sum, keyIdBytes: key.keyIdBytes, chunkCount: sum.header.chunkCount };
  const seen = new Set<number>();
  for (const chunk of sum.chunks) {
    const index = loadSumChunk(context, chunk, expect, scratchCipher);
    if (seen.has(index)) throw new HeError('HE_CIPHERTEXT_MALFORMED', `the aggregate carries chunk ${index} twice`);
    seen.add(index);
    decryptor.decrypt(scratchCipher, scratchPlain);
    const slots = encoder.decodeBigUint64(scratchPlain) as BigUint64Array;
    const words = new Uint32Array(slots.buffer, slots.byteOffset, slots.length * 2);
    try {
      const check = readCheckSlots(context.paramSet, context.plainModulus, words);
      if (check.count !== sum.header.contributors.length) {
        throw new HeError('HE_DECRYPTION_CHECK_FAILED', `chunk ${index} decrypts to a contributor count of ${check.count}, not ${sum.header.contributors.length}: ` +
          'the aggregate is under another key, was tampered with, or its contributor list is false');
      }
      read(index, words);
    } finally {
      slots.fill(0n);
      scratchPlain.setZero();
    }
  }
}

/**
 * Decrypts an aggregate of encryptUpdate contributions to the weighted average
 * Σ w_i·u_i / totalWeight. Every key holder computes the same doubles bit for bit (BFV decryption
 * is exact; the scaling is one IEEE division). Error against the unquantised average is at most
 * contributors·2^-(fracBits+1)/totalWeight per coordinate.
 */
export function decryptAggregate(context: HeContext, key: HeSecretKey, sumBytes: Uint8Array, options: DecryptAggregateOptions): Float64Array {
  const { totalWeight } = options;
  if (!Number.isFinite(totalWeight) || totalWeight <= 0) {
    throw new HeError('HE_QUANTISATION_INVALID', `totalWeight must be a positive number (the sum of the contributors' weights); got ${totalWeight}`);
  }
  const sum = openSum(context, key, sumBytes, 'fixed-point', options.minContributors ?? DEFAULT_MIN_CONTRIBUTORS);
  const encoding = sum.header.encoding;
  if (encoding.kind !== 'fixed-point') throw new Error('unreachable');
  const unit = 2 ** -encoding.fracBits;
  const tolerance = sum.header.contributors.length * unit / 2 + 1e-12;
  const out = new Float64Array(sum.header.valueCount);
  decryptChunks(context, key, sum, (chunk, words) => {
    const { weight } = readCheckSlots(context.paramSet, context.plainModulus, words);
    if (Math.abs(weight * unit - totalWeight) > tolerance) {
      throw new HeError('HE_AGGREGATE_INCONSISTENT', `chunk ${chunk}: the contributors' encrypted weights sum to ${weight * unit}, but totalWeight ${totalWeight} was announced`);
    }
    readSlots(context.paramSet, context.plainModulus, words, chunk, unit, out);
  });
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / totalWeight;
  return out;
}

/**
 * Decrypts an aggregate of encryptVectorExact contributions to the exact integer sums (every
 * entry is a safe integer, |sum| ≤ maxSites·maxAbs).
 */
export function decryptExact(context: HeContext, key: HeSecretKey, sumBytes: Uint8Array, options: { minContributors?: number } = {}): Float64Array {
  const sum = openSum(context, key, sumBytes, 'exact', options.minContributors ?? DEFAULT_MIN_CONTRIBUTORS);
  const out = new Float64Array(sum.header.valueCount);
  decryptChunks(context, key, sum, (chunk, words) => readSlots(context.paramSet, context.plainModulus, words, chunk, 1, out));
  return out;
}
