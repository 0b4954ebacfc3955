export { HE_ERRORS, HeError, type HeErrorCode } from './errors.js';
export {
  HE_PARAM_SETS, DEFAULT_UPDATE_PARAM_SET, DEFAULT_STATISTICS_PARAM_SET, MAX_COEFF_MODULUS_BITS_128, FRESH_NOISE_BOUND,
  getParamSet, paramSetDigest, canonicalParamSetDescription, paramSetProblems, type HeParamSet, type HeParamSetId,
} from './param-sets.js';
export { loadHe, type SealModule } from './seal-module.js';
export { heContext, HeContext } from './context.js';
export { generateKeys, importSecretKey, secretKeyId, HeSecretKey } from './secret-key.js';
export {
  checkEncoding, chunkCountFor, valuesPerChunk, laneLimit,
  type HeEncoding, type FixedPointEncoding, type ExactEncoding,
} from './encoding.js';
export {
  vectorHeader, encodeHeader, decodeVectorHeader, encodeEncryptedVector, decodeEncryptedVector, encodeEncryptedSum, decodeEncryptedSum, MAX_VALUE_COUNT,
  type HeVectorHeader, type HeSumHeader, type EncryptedVector, type EncryptedSum,
} from './vector.js';
export { encryptUpdate, encryptVectorExact, type EncryptUpdateOptions, type EncryptExactOptions } from './encrypt.js';
export { EncryptedAccumulator, DEFAULT_MIN_CONTRIBUTORS } from './accumulator.js';
export { decryptAggregate, decryptExact, type DecryptAggregateOptions } from './decrypt.js';
export * from './custody/index.js';
export { toLimbs, fromLimbs, LIMBS, LIMB_BITS, LIMB_MAX_ABS, MAX_LIMB_SITES, DEFAULT_STAT_FRAC_BITS } from './limbs.js';
