/**
 * Dense bit packing of ciphertext polynomials. A coefficient mod a b-bit prime (45 < b ≤ 60) is
 * uniformly random, so general-purpose compression cannot shrink SEAL's 64-bit words (zstd made
 * them larger in our measurements); writing exactly b bits saves (64-b)/64 and decodes with plain
 * 32-bit integer operations, much faster than zstd. Coefficients are handled as two 30-bit limbs
 * and written as four pieces of 15, 15, 15 and b-45 bits, little-endian bit order.
 */

/** A prime < 2^60 split into limbs for comparisons: 30-bit limbs (generic path), 32-bit words (60-bit path). */
export interface ModulusLimbs {
  readonly lo30: number;
  readonly hi30: number;
  readonly lo32: number;
  readonly hi32: number;
}

export function modulusLimbs(q: bigint): ModulusLimbs {
  return { lo30: Number(q & 0x3fffffffn), hi30: Number(q >> 30n), lo32: Number(q & 0xffffffffn), hi32: Number(q >> 32n) };
}

export function packedPolyBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/**
 * Writes `count` coefficients, given as little-endian 64-bit words in `words` (two 32-bit entries
 * each), into `out` at `offset`. Every coefficient must be below 2^bits (they are reduced mod q).
 */
export function packPoly(words: Uint32Array, count: number, bits: number, out: Uint8Array, offset: number): void {
  if (bits === 60 && count % 2 === 0) {
    pack60(words, count, out, offset);
    return;
  }
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
  if (bits === 60 && count % 2 === 0) return unpack60(src, offset, count, q, words);
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

/**
 * 60-bit fast path: two coefficients are exactly 15 bytes, so the bytes are written straight from
 * the 32-bit words (low word, then the 28-bit high word) without a bit loop. Same bit layout as the
 * generic path.
 */
function pack60(words: Uint32Array, count: number, out: Uint8Array, offset: number): void {
  let o = offset;
  for (let i = 0; i < 2 * count; i += 4) {
    const a0 = words[i]!;
    const a1 = words[i + 1]!;
    const b0 = words[i + 2]!;
    const b1 = words[i + 3]!;
    out[o] = a0; out[o + 1] = a0 >>> 8; out[o + 2] = a0 >>> 16; out[o + 3] = a0 >>> 24;
    out[o + 4] = a1; out[o + 5] = a1 >>> 8; out[o + 6] = a1 >>> 16;
    out[o + 7] = ((a1 >>> 24) & 0x0f) | (b0 << 4);
    out[o + 8] = b0 >>> 4; out[o + 9] = b0 >>> 12; out[o + 10] = b0 >>> 20; out[o + 11] = (b0 >>> 28) | (b1 << 4);
    out[o + 12] = b1 >>> 4; out[o + 13] = b1 >>> 12; out[o + 14] = b1 >>> 20;
    o += 15;
  }
}

function unpack60(src: Uint8Array, offset: number, count: number, q: ModulusLimbs, words: Uint32Array): boolean {
  const qLo = q.lo32;
  const qHi = q.hi32;
  let s = offset;
  let ok = true;
  for (let i = 0; i < 2 * count; i += 4) {
    const a0 = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16) | (src[s + 3]! << 24)) >>> 0;
    const a1 = src[s + 4]! | (src[s + 5]! << 8) | (src[s + 6]! << 16) | ((src[s + 7]! & 0x0f) << 24);
    const b0 = ((src[s + 7]! >>> 4) | (src[s + 8]! << 4) | (src[s + 9]! << 12) | (src[s + 10]! << 20) | (src[s + 11]! << 28)) >>> 0;
    const b1 = (src[s + 11]! >>> 4) | (src[s + 12]! << 4) | (src[s + 13]! << 12) | (src[s + 14]! << 20);
    // Branch-free accumulation of the range check keeps the loop tight.
    ok = ok && (a1 < qHi || (a1 === qHi && a0 < qLo)) && (b1 < qHi || (b1 === qHi && b0 < qLo));
    words[i] = a0; words[i + 1] = a1; words[i + 2] = b0; words[i + 3] = b1;
    s += 15;
  }
  return ok;
}
