import { HeError } from '../he/errors.js';
import { LIMB_BITS, LIMBS } from '../he/limbs.js';

/**
 * Exact integers (bigint) on the multi-limb HE path, without passing through float64: a statistics
 * vector of counts and fixed-point sums stays exact up to 2^(LIMB_BITS*LIMBS-1) whatever its size.
 * Same limb layout as proto/src/he/limbs.ts with no fractional bits.
 */
const BASE = 1n << BigInt(LIMB_BITS);
const LIMIT = 1n << BigInt(LIMB_BITS * LIMBS - 1);

export function bigintsToLimbs(values: readonly bigint[]): Float64Array {
  const out = new Float64Array(values.length * LIMBS);
  values.forEach((v, i) => {
    if (v >= LIMIT || v < -LIMIT) throw new HeError('HE_VALUE_OUT_OF_RANGE', `statistic ${i} exceeds the ${LIMB_BITS * LIMBS - 1}-bit range of exact statistics`);
    let n = v;
    for (let l = 0; l < LIMBS - 1; l++) {
      const r = ((n % BASE) + BASE) % BASE;
      out[i * LIMBS + l] = Number(r);
      n = (n - r) / BASE;
    }
    out[i * LIMBS + LIMBS - 1] = Number(n);
  });
  return out;
}

export function limbsToBigints(limbs: ArrayLike<number>): bigint[] {
  if (limbs.length % LIMBS !== 0) throw new HeError('HE_SHAPE_MISMATCH', `${limbs.length} limbs is not a multiple of ${LIMBS}`);
  const out: bigint[] = [];
  for (let i = 0; i < limbs.length / LIMBS; i++) {
    let n = 0n;
    for (let l = LIMBS - 1; l >= 0; l--) {
      const limb = limbs[i * LIMBS + l]!;
      if (!Number.isSafeInteger(limb)) throw new HeError('HE_AGGREGATE_INCONSISTENT', `limb ${i * LIMBS + l} is not an exact integer`);
      n = n * BASE + BigInt(limb);
    }
    out.push(n);
  }
  return out;
}
