import { HeError } from '../../src/he/index.js';

/** Runs `fn` and returns the HeError code it throws (fails the test if it does not throw one). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof HeError) return err.code;
    throw err;
  }
  throw new Error('expected an HeError, but nothing was thrown');
}

export async function codeOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof HeError) return err.code;
    throw err;
  }
  throw new Error('expected an HeError, but nothing was thrown');
}

/** Deterministic uniform values in [-clip, clip] from a seed (xorshift32). */
export function uniformVector(length: number, clip: number, seed: number): Float32Array {
  let s = (Math.imul(seed + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = Math.fround((s / 4294967296 * 2 - 1) * clip);
  }
  return out;
}

export interface ErrorReport { readonly relativeL2: number; readonly maxAbs: number }

export function weightedAverage(updates: readonly Float32Array[], weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(updates[0]!.length);
  updates.forEach((u, s) => { for (let i = 0; i < u.length; i++) out[i]! += weights[s]! * u[i]!; });
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

export function compare(actual: Float64Array, expected: Float64Array): ErrorReport {
  let err = 0;
  let ref = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i]! - expected[i]!;
    err += d * d;
    ref += expected[i]! * expected[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { relativeL2: Math.sqrt(err / ref), maxAbs };
}
