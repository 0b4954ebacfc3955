import { sha256Hex } from '../util/digest.js';
import { encodeVector } from '../vector/float-vector.js';

/**
 * The digest every site reports for the global model it holds: SHA-256 of the float32 LE bytes,
 * which on a plaintext job is the coordinator's stored model digest itself.
 */
export function paramsSha256(global: Float32Array): string {
  return sha256Hex(encodeVector(global));
}
