import { defaultByteSource, type ByteSource } from './byte-source.js';

// Globals bound once: the samplers' loops run millions of times, and global lookups are slow in
// sandboxed contexts (vm, test runners).
const { ceil, clz32, floor } = Math;
const toBigInt = BigInt;
const toNumber = Number;

const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;
const BIG_TWO_POW_48 = 2n ** 48n;

/** Uniform integer in [0, n) by rejection (no modulo bias); n >= 1. */
export function uniformBelow(n: bigint, source: ByteSource = defaultByteSource()): bigint {
  if (n <= 1n) return 0n;
  if (n <= BIG_TWO_POW_48) return toBigInt(uniformBelowSmall(toNumber(n), source));
  const bits = (n - 1n).toString(2).length;
  const bytes = ceil(bits / 8);
  const topMask = 0xff >> (bytes * 8 - bits);
  for (;;) {
    const b = source(bytes);
    let v = toBigInt((b[0] as number) & topMask);
    for (let i = 1; i < bytes; i++) v = (v << 8n) | toBigInt(b[i] as number);
    if (v < n) return v;
  }
}

/**
 * Uniform integer in [0, n) for an integer 1 <= n <= 2^48, in exact double arithmetic: draw just
 * enough bits for n - 1 and reject values >= n (at most half of the draws).
 */
export function uniformBelowSmall(n: number, source: ByteSource = defaultByteSource()): number {
  if (n <= 1) return 0;
  const bits = bitLength(n - 1);
  const bytes = ceil(bits / 8);
  const topMask = 0xff >> (bytes * 8 - bits);
  for (;;) {
    const b = source(bytes);
    let v = (b[0] as number) & topMask;
    for (let i = 1; i < bytes; i++) v = v * 256 + (b[i] as number);
    if (v < n) return v;
  }
}

function bitLength(x: number): number {
  return x < TWO_POW_32 ? 32 - clz32(x) : 32 + bitLength(floor(x / TWO_POW_32));
}

/** Bernoulli(num/den), exact: a uniform draw below den compared with num. */
export function bernoulliRational(num: bigint, den: bigint, source: ByteSource = defaultByteSource()): boolean {
  if (num <= 0n) return false;
  if (num >= den) return true;
  if (den <= BIG_TWO_POW_48) return uniformBelowSmall(toNumber(den), source) < toNumber(num);
  return uniformBelow(den, source) < num;
}

/** Uniform double k / 2^53 in [0, 1) from 53 random bits: every representable step is equally likely. */
export function uniform53(source: ByteSource = defaultByteSource()): number {
  const b = source(7);
  const hi = (((b[0] as number) << 16) | ((b[1] as number) << 8) | (b[2] as number)) & 0x1fffff; // 21 bits
  const lo = (((b[3] as number) << 24) | ((b[4] as number) << 16) | ((b[5] as number) << 8) | (b[6] as number)) >>> 0; // 32 bits
  return (hi * TWO_POW_32 + lo) / TWO_POW_53;
}
