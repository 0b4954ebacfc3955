import { MedfedError } from '../errors/medfed-error.js';

/**
 * Plaintext vectors on the wire: little-endian IEEE-754, no header (the task fixes the length and
 * the element type). Decoding checks the exact length and refuses NaN and infinities, so a garbage
 * upload cannot poison an aggregate.
 */
export type VectorType = 'float32' | 'float64';

const BYTES: Record<VectorType, number> = { float32: 4, float64: 8 };

export function encodeVector(values: Float32Array | Float64Array): Buffer {
  const out = Buffer.allocUnsafe(values.byteLength);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (values instanceof Float32Array) values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return out;
}

export function decodeVector(bytes: Uint8Array, type: 'float32', expectedLength: number): Float32Array;
export function decodeVector(bytes: Uint8Array, type: 'float64', expectedLength: number): Float64Array;
export function decodeVector(bytes: Uint8Array, type: VectorType, expectedLength: number): Float32Array | Float64Array;
export function decodeVector(bytes: Uint8Array, type: VectorType, expectedLength: number): Float32Array | Float64Array {
  const width = BYTES[type];
  if (bytes.byteLength !== expectedLength * width) {
    throw new MedfedError('VECTOR_LENGTH_MISMATCH',
      `expected ${expectedLength} ${type} values (${expectedLength * width} bytes), received ${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = type === 'float32' ? new Float32Array(expectedLength) : new Float64Array(expectedLength);
  for (let i = 0; i < expectedLength; i++) {
    const v = type === 'float32' ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    if (!Number.isFinite(v)) {
      throw new MedfedError('VECTOR_NOT_FINITE', `value ${i} is ${v}; updates must be finite numbers`);
    }
    out[i] = v;
  }
  return out;
}
