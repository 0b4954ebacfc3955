export * from './errors/index.js';
export * from './job/index.js';
export { initialWeights } from './job/initial-weights.js';
export * from './transport/index.js';
export { encodeVector, decodeVector, type VectorType } from './vector/float-vector.js';
export { CHUNK_BYTES, chunksOf } from './util/chunks.js';
export { sha256Hex, SHA256_HEX } from './util/digest.js';
export { loadConfig, ConfigError, type EnvBinding } from './config/load-config.js';
export * from './he/index.js';
