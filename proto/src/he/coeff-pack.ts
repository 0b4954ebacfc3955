/**
 * Dense bit packing of ciphertext polynomials. A coefficient mod a b-bit prime (45 < b ≤ 60) is
 * uniformly random, so general-purpose compression cannot shrink SEAL's 64-bit words (zstd made
 * them larger in our measurements); writing exactly b bits saves (64-b)/64 and decodes with plain
 * 32-bit integer operations, much faster than zstd. Coefficients are handled as two 30-bit limbs
 * and written as four pieces of 15, 15, 15 and b-45 bits, little-endian bit order.
 */

/** A prime < 2^60 split as value = hi30·2^30 + lo30, for limb-wise comparisons. */
export interface ModulusLimbs {
  readonly lo30: number;
  readonly hi30: number;
}

export function modulusLimbs(q: bigint): ModulusLimbs {
  return { lo30: Number(q & 0x3fffffffn), hi30: Number(q >> 30n) };
}

export function packedPolyBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/**
 * Writes `count` coefficients, given as little-endian 64-bit words in `words` (two 32-bit entries
 * each), into `out` at `offset`. Every coefficient must be below 2^bits (they are reduced mod q).
 */
export function packPoly(words: Uint32Array, count: number, bits: number, out: Uint8Array, offset: number): void {
  const topBits = bits - 45;
  let o = offset;
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < count; i++) {
    const w0 = words[2 * i]!;
    const w1 = words[2 * i + 1]!;
    const lo30 = w0 & 0x3fffffff;
    const hi30 = (w0 >>> 30) | (w1 << 2);
    // Four pieces; acc never holds more than 7 + 15 bits, so 32-bit integer ops suffice.
    acc |= (lo30 & 0x7fff) << accBits;
    accBits += 15;
    while (accBits >= 8) { out[o++] = acc & 0xff; acc >>>= 8; accBits -= 8; }
    acc |= (lo30 >>> 15) << accBits;
    accBits += 15;
    while (accBits >= 8) { out[o++] = acc & 0xff; acc >>>= 8; accBits -= 8; }
    acc |= (hi30 & 0x7fff) << accBits;
    accBits += 15;
    while (accBits >= 8) { out[o++] = acc & 0xff; acc >>>= 8; accBits -= 8; }
    acc |= (hi30 >>> 15) << accBits;
    accBits += topBits;
    while (accBits >= 8) { out[o++] = acc & 0xff; acc >>>= 8; accBits -= 8; }
  }
  if (accBits > 0) out[o] = acc & 0xff;
}

/**
 * Reads `count` packed coefficients from `src` at `offset` into `words` (64-bit little-endian).
 * Returns false, leaving `words` partly written, when any coefficient is not below q or the final
 * padding bits are not zero: such bytes are not a canonical encoding of a ciphertext.
 */
export function unpackPoly(src: Uint8Array, offset: number, count: number, bits: number, q: ModulusLimbs, words: Uint32Array): boolean {
  const topBits = bits - 45;
  const topMask = (1 << topBits) - 1;
  const qLo = q.lo30;
  const qHi = q.hi30;
  let s = offset;
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < count; i++) {
    while (accBits < 15) { acc |= src[s++]! << accBits; accBits += 8; }
    let lo30 = acc & 0x7fff;
    acc >>>= 15; accBits -= 15;
    while (accBits < 15) { acc |= src[s++]! << accBits; accBits += 8; }
    lo30 |= (acc & 0x7fff) << 15;
    acc >>>= 15; accBits -= 15;
    while (accBits < 15) { acc |= src[s++]! << accBits; accBits += 8; }
    let hi30 = acc & 0x7fff;
    acc >>>= 15; accBits -= 15;
    while (accBits < topBits) { acc |= src[s++]! << accBits; accBits += 8; }
    hi30 |= (acc & topMask) << 15;
    acc >>>= topBits; accBits -= topBits;
    if (hi30 > qHi || (hi30 === qHi && lo30 >= qLo)) return false;
    words[2 * i] = (lo30 | (hi30 << 30)) >>> 0;
    words[2 * i + 1] = hi30 >>> 2;
  }
  return acc === 0;
}
