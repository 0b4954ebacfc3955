import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { modulusLimbs, packPoly, packedPolyBytes, unpackPoly } from '../../src/he/coeff-pack.js';

const moduli = [
  { q: 1152921504606830593n, bits: 60 },
  { q: 18014398509404161n, bits: 54 },
];

function toWords(values: readonly bigint[]): Uint32Array {
  const words = new Uint32Array(values.length * 2);
  values.forEach((v, i) => { words[2 * i] = Number(v & 0xffffffffn); words[2 * i + 1] = Number(v >> 32n); });
  return words;
}

function fromWords(words: Uint32Array, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => (BigInt(words[2 * i + 1]!) << 32n) | BigInt(words[2 * i]!));
}

describe('coefficient packing', () => {
  it.each(moduli)('round-trips any coefficients below q at exactly ceil(count·bits/8) bytes ($bits bits)', ({ q, bits }) => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: q - 1n }), { minLength: 1, maxLength: 64 }), fc.nat(5), (values, offset) => {
      const bytes = new Uint8Array(offset + packedPolyBytes(values.length, bits));
      packPoly(toWords(values), values.length, bits, bytes, offset);
      const out = new Uint32Array(values.length * 2);
      expect(unpackPoly(bytes, offset, values.length, bits, modulusLimbs(q), out)).toBe(true);
      expect(fromWords(out, values.length)).toEqual(values);
    }));
  });

  it.each(moduli)('refuses a coefficient equal to or above q ($bits bits)', ({ q, bits }) => {
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: q - 1n }), { minLength: 1, maxLength: 16 }), fc.nat(), fc.bigInt({ min: q, max: (1n << BigInt(bits)) - 1n }), (values, at, big) => {
      const withBig = [...values];
      withBig[at % values.length] = big;
      const bytes = new Uint8Array(packedPolyBytes(values.length, bits));
      packPoly(toWords(withBig), values.length, bits, bytes, 0);
      expect(unpackPoly(bytes, 0, values.length, bits, modulusLimbs(q), new Uint32Array(values.length * 2))).toBe(false);
    }));
  });

  it('the 60-bit fast path (even counts) writes the same bits as the general path (odd counts)', () => {
    const { q } = moduli[0]!;
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: q - 1n }), { minLength: 3, maxLength: 3 }), (values) => {
      const even = new Uint8Array(packedPolyBytes(2, 60));
      const odd = new Uint8Array(packedPolyBytes(3, 60));
      packPoly(toWords(values.slice(0, 2)), 2, 60, even, 0);
      packPoly(toWords(values), 3, 60, odd, 0);
      expect(Array.from(odd.subarray(0, 15))).toEqual(Array.from(even));
    }));
  });

  it('refuses non-zero padding bits (one canonical encoding per ciphertext)', () => {
    const { q } = moduli[1]!;
    const count = 3; // 162 bits: 6 padding bits in the last byte
    const bytes = new Uint8Array(packedPolyBytes(count, 54));
    packPoly(toWords([1n, 2n, 3n]), count, 54, bytes, 0);
    const out = new Uint32Array(count * 2);
    expect(unpackPoly(bytes, 0, count, 54, modulusLimbs(q), out)).toBe(true);
    bytes[bytes.length - 1]! |= 0x80;
    expect(unpackPoly(bytes, 0, count, 54, modulusLimbs(q), out)).toBe(false);
  });
});
