import { freshChunkFromSeal } from './chunk.js';
import type { HeContext } from './context.js';
import { checkValues, checkWeight, fillSlots, type HeEncoding } from './encoding.js';
import { HeError } from './errors.js';
import type { HeSecretKey } from './secret-key.js';
import { vectorHeader, type EncryptedVector } from './vector.js';

export interface EncryptUpdateOptions {
  /** The site's weight w ∈ [0,1] (its sample-count share, announced by the coordinator). */
  readonly weight: number;
  /** Every |u_j| must be ≤ clip (the privacy chain clips first; values outside are refused). */
  readonly clip: number;
  readonly fracBits: number;
  readonly maxSites: number;
}

export interface EncryptExactOptions {
  readonly maxAbs: number;
  readonly maxSites: number;
}

function checkKey(context: HeContext, key: HeSecretKey): void {
  if (key.context !== context) {
    throw new HeError('HE_KEY_MISMATCH', `the secret key belongs to parameter set ${key.context.paramSet.id}, not ${context.paramSet.id}`);
  }
}

function encryptChunks(context: HeContext, key: HeSecretKey, values: ArrayLike<number>, encoding: HeEncoding, quantum: number, weightSlot: number): EncryptedVector {
  const header = vectorHeader(context, key.keyId, values.length, encoding);
  const encryptor = key.encryptor();
  const { seal, encoder, scratchPlain, slotValues, slotWords } = context;
  const chunks: Uint8Array[] = [];
  try {
    for (let c = 0; c < header.chunkCount; c++) {
      fillSlots(context.paramSet, context.plainModulus, values, c, quantum, weightSlot, slotWords);
      encoder.encode(slotValues, scratchPlain);
      const serializable = encryptor.encryptSymmetricSerializable(scratchPlain);
      try {
        const sealBytes = serializable.saveToArray(seal.ComprModeType.none) as Uint8Array;
        chunks.push(freshChunkFromSeal(context, sealBytes, key.keyIdBytes, c, header.chunkCount));
      } finally {
        serializable.delete();
      }
    }
  } finally {
    // The scratch slots held quantised update values.
    slotWords.fill(0);
    scratchPlain.setZero();
  }
  return { header, chunks };
}

/**
 * Encrypts a site's contribution w·u: quantised to round(w·u_j·2^fracBits), packed into the
 * parameter set's lanes, one seeded secret-key ciphertext per chunk. Refuses values outside
 * [-clip, clip] or NaN (HE_VALUE_OUT_OF_RANGE) and bounds that could overflow the sum of
 * maxSites contributions (HE_QUANTISATION_INVALID).
 */
export function encryptUpdate(context: HeContext, key: HeSecretKey, values: Float32Array | Float64Array, options: EncryptUpdateOptions): EncryptedVector {
  checkKey(context, key);
  const encoding: HeEncoding = { kind: 'fixed-point', clip: options.clip, fracBits: options.fracBits, maxSites: options.maxSites };
  vectorHeader(context, key.keyId, values.length, encoding);
  checkWeight(options.weight);
  checkValues(values, encoding);
  const scale = 2 ** options.fracBits;
  return encryptChunks(context, key, values, encoding, options.weight * scale, Math.round(options.weight * scale));
}

/**
 * Encrypts integers (sums, counts, histogram bins) so that the aggregate decrypts to the exact
 * integer sum. Every value must be a safe integer within ±maxAbs, and maxSites·maxAbs must fit a lane.
 */
export function encryptVectorExact(context: HeContext, key: HeSecretKey, values: ArrayLike<number>, options: EncryptExactOptions): EncryptedVector {
  checkKey(context, key);
  const encoding: HeEncoding = { kind: 'exact', maxAbs: options.maxAbs, maxSites: options.maxSites };
  vectorHeader(context, key.keyId, values.length, encoding);
  checkValues(values, encoding);
  return encryptChunks(context, key, values, encoding, 1, 0);
}
