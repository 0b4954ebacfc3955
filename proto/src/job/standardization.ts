import { fromLimbs, toLimbs } from '../he/limbs.js';
import type { Standardization } from './spec.js';

/**
 * Mean and population std from summed `[n, sum.., sumsq..]` statistics: mean = sum / n,
 * var = sumsq / n - mean^2. A variance at or below rounding level (a constant feature) gives std 1,
 * so the feature is only centred. Returns the problem as text when the sums cannot be used. The
 * same function on every site (encrypted jobs) and on the coordinator (plaintext jobs), so both
 * standardise identically.
 */
export function standardizationOf(summed: ArrayLike<number>, d: number): Standardization | string {
  if (!Number.isSafeInteger(d) || d < 1 || summed.length !== 1 + 2 * d) {
    return `Summed statistics have ${summed.length} values; ${d} features need 1 + 2 * ${d} = ${1 + 2 * d}.`;
  }
  const n = summed[0]!;
  if (!(n >= 1) || !Number.isFinite(n)) return `Summed statistics report n = ${n} rows; at least 1 is needed.`;
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < d; j++) {
    const sum = summed[1 + j]!;
    const squares = summed[1 + d + j]!;
    if (!Number.isFinite(sum) || !Number.isFinite(squares)) return `Summed statistics for feature ${j + 1} are not finite.`;
    const m = sum / n;
    const variance = squares / n - m * m;
    const floor = 1e-10 * Math.max(1, m * m);
    mean.push(m);
    std.push(variance > floor ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}

/**
 * The plaintext twin of the encrypted statistics sum: each site's statistics rounded to limbs as a
 * site encrypts them (toLimbs), the limbs summed exactly, recombined (fromLimbs). What a site
 * decrypts on an encrypted job, bit for bit.
 */
export class ExactStatisticsSum {
  readonly #limbs: Float64Array;
  readonly #length: number;

  constructor(length: number) {
    this.#length = length;
    this.#limbs = new Float64Array(toLimbs(new Float64Array(length)).length);
  }

  add(statistics: ArrayLike<number>): void {
    const limbs = toLimbs(statistics);
    if (limbs.length !== this.#limbs.length) throw new RangeError(`statistics have ${statistics.length} values, expected ${this.#length}`);
    for (let i = 0; i < limbs.length; i++) this.#limbs[i]! += limbs[i]!;
  }

  sums(): Float64Array {
    return fromLimbs(this.#limbs);
  }
}
