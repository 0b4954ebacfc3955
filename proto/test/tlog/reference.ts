import { createHash } from 'node:crypto';

/**
 * RFC 6962 section 2.1, transcribed literally (MTH, PATH and SUBPROOF as recursive definitions
 * over D[lo:hi]), as an independent reference for the storage-backed proofs. MTH results are
 * memoised per range so that checking every prefix of a small tree stays fast.
 */
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const k = (n: number) => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};

export function refLeafHash(data: Uint8Array): Uint8Array {
  return sha256(Buffer.from([0]), data);
}

export class Reference {
  readonly #leaves: readonly Uint8Array[];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(leafHashes: readonly Uint8Array[]) {
    this.#leaves = leafHashes;
  }

  /** MTH(D[lo:hi]). */
  mth(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (n === 0) return sha256();
    if (n === 1) return this.#leaves[lo]!;
    const key = `${lo}:${hi}`;
    let h = this.#memo.get(key);
    if (!h) {
      const split = k(n);
      h = sha256(Buffer.from([1]), this.mth(lo, lo + split), this.mth(lo + split, hi));
      this.#memo.set(key, h);
    }
    return h;
  }

  /** PATH(m, D[lo:hi]), m relative to lo. */
  path(m: number, lo: number, hi: number): Uint8Array[] {
    const n = hi - lo;
    if (n <= 1) return [];
    const split = k(n);
    if (m < split) return [...this.path(m, lo, lo + split), this.mth(lo + split, hi)];
    return [...this.path(m - split, lo + split, hi), this.mth(lo, lo + split)];
  }

  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
  proof(m: number, n: number): Uint8Array[] {
    const sub = (m: number, lo: number, hi: number, b: boolean): Uint8Array[] => {
      if (m === hi - lo) return b ? [] : [this.mth(lo, hi)];
      const split = k(hi - lo);
      if (m <= split) return [...sub(m, lo, lo + split, b), this.mth(lo + split, hi)];
      return [...sub(m - split, lo + split, hi, false), this.mth(lo, lo + split)];
    };
    return sub(m, 0, n, true);
  }
}
