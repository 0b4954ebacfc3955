/**
 * The weighted mean of the sites' deltas exactly as an encrypted round yields it, so that a
 * plaintext job and an encrypted one compute bit-identical models: each site's value is quantised
 * to round(u_j * w * 2^fracBits) (proto/src/he/encrypt.ts), the integers are summed (exact in
 * doubles, as the ciphertext sum is exact), then scaled by 2^-fracBits and divided by the total
 * weight (proto/src/he/decrypt.ts); the result is rounded to float32 once.
 */
export class FixedPointMean {
  readonly #sum: Float64Array;
  readonly #quantum: number;
  readonly fracBits: number;
  #count = 0;

  constructor(length: number, fracBits: number) {
    this.fracBits = fracBits;
    this.#sum = new Float64Array(length);
    this.#quantum = 2 ** fracBits;
  }

  get contributors(): number {
    return this.#count;
  }

  /** `weight` is the site's share in [0, 1], the one the coordinator announces to encrypted sites. */
  add(update: ArrayLike<number>, weight: number): void {
    if (update.length !== this.#sum.length) throw new RangeError(`update has ${update.length} values, expected ${this.#sum.length}`);
    const q = weight * this.#quantum;
    for (let i = 0; i < update.length; i++) this.#sum[i]! += Math.round(update[i]! * q);
    this.#count++;
  }

  /** The mean delta, given the sum of the contributors' weights (as the coordinator records it). */
  mean(totalWeight: number): Float32Array {
    return meanDeltaOf(this.#sum, 2 ** -this.fracBits, totalWeight);
  }
}

/** From decrypted (or summed) integer lanes scaled by `unit`, as decryptAggregate does, to float32. */
export function meanDeltaOf(integerSums: ArrayLike<number>, unit: number, totalWeight: number): Float32Array {
  const out = new Float32Array(integerSums.length);
  for (let i = 0; i < out.length; i++) out[i] = (integerSums[i]! * unit) / totalWeight;
  return out;
}

/** A decrypted weighted average (Float64Array from decryptAggregate) rounded to float32, as every site rounds it. */
export function toMeanDelta(average: ArrayLike<number>): Float32Array {
  return Float32Array.from(average);
}
