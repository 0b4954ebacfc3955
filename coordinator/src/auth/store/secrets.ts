import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const BASE32 = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789'; // no I, L, O, U: nothing to misread when typed

/** `n` random characters from an unambiguous 32-letter alphabet (5 bits each). */
export function randomBase32(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

export function randomId(n = 16): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  // rejection sampling keeps the 36 letters uniform
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 252 && out.length < n) out += alphabet[b % 36];
    }
  }
  return out;
}
