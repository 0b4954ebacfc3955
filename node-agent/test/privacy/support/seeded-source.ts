import { createCipheriv, createHash } from 'node:crypto';
import type { ByteSource } from '../../../src/privacy/noise/index.js';

/**
 * A reproducible cryptographic byte stream for tests: the AES-256-CTR keystream under a key derived
 * from `seed`. Its output is as uniform as the OS source, but the same seed gives the same bytes,
 * so a statistical bound checked once cannot flake.
 */
export function seededByteSource(seed: string): ByteSource {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(65536);
  let block = new Uint8Array(0);
  let offset = 0;
  // Keystream is produced in large blocks: the samplers ask for a few bytes at a time.
  return (length) => {
    if (offset + length > block.length) {
      block = new Uint8Array(cipher.update(length > zeros.length ? Buffer.alloc(length) : zeros));
      offset = 0;
    }
    const out = block.slice(offset, offset + length);
    offset += length;
    return out;
  };
}

/** Mean and unbiased sample variance. */
export function meanAndVariance(values: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i] as number;
  mean /= values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += ((values[i] as number) - mean) ** 2;
  return { mean, variance: ss / (values.length - 1) };
}
