import { HeError } from './errors.js';

/**
 * Exact fixed-point numbers of any practical size on top of the exact (integer) HE path: a value
 * is rounded to a multiple of 2^-fracBits and the resulting integer is cut into LIMBS limbs of
 * LIMB_BITS bits (the lower ones non-negative, the top one signed). Limbs are summed independently
 * under encryption and recombined with carries after decryption, so a sum over up to
 * MAX_LIMB_SITES sites never wraps, whatever the magnitude of a feature (up to about 2^75).
 * Used for feature statistics and federated statistics, where sums of squares outgrow one lane.
 */
export const LIMB_BITS = 16;
export const LIMBS = 6;
export const DEFAULT_STAT_FRAC_BITS = 20;
/** Largest absolute value of one limb before summation (the top limb is signed, the others below 2^30). */
export const LIMB_MAX_ABS = 2 ** LIMB_BITS;
/** With the default 23-bit lanes (bfv-n4096-q60-t48-2x23) a limb sum stays exact for this many sites. */
export const MAX_LIMB_SITES = 63;

const BASE = 1n << BigInt(LIMB_BITS);
const LIMIT = 1n << BigInt(LIMB_BITS * LIMBS - 1);

/** Each value becomes LIMBS integers, low limb first. */
export function toLimbs(values: ArrayLike<number>, fracBits = DEFAULT_STAT_FRAC_BITS): Float64Array {
  const out = new Float64Array(values.length * LIMBS);
  const scale = 2 ** fracBits;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new HeError('HE_VALUE_OUT_OF_RANGE', `statistic ${i} is ${v}; only finite numbers can be encrypted`);
    let n = BigInt(Math.round(v * scale));
    if (n >= LIMIT || n < -LIMIT) throw new HeError('HE_VALUE_OUT_OF_RANGE', `statistic ${i} (${v}) exceeds the ${LIMB_BITS * LIMBS - 1 - fracBits}-bit range of exact statistics`);
    for (let l = 0; l < LIMBS - 1; l++) {
      const r = ((n % BASE) + BASE) % BASE; // non-negative remainder
      out[i * LIMBS + l] = Number(r);
      n = (n - r) / BASE;
    }
    out[i * LIMBS + LIMBS - 1] = Number(n);
  }
  return out;
}

/** Recombines summed limbs (exact integers) into values; carries between limbs are resolved here. */
export function fromLimbs(limbs: ArrayLike<number>, fracBits = DEFAULT_STAT_FRAC_BITS): Float64Array {
  if (limbs.length % LIMBS !== 0) throw new HeError('HE_SHAPE_MISMATCH', `${limbs.length} limbs is not a multiple of ${LIMBS}`);
  const out = new Float64Array(limbs.length / LIMBS);
  for (let i = 0; i < out.length; i++) {
    let n = 0n;
    for (let l = LIMBS - 1; l >= 0; l--) {
      const limb = limbs[i * LIMBS + l]!;
      if (!Number.isSafeInteger(limb)) throw new HeError('HE_AGGREGATE_INCONSISTENT', `limb ${i * LIMBS + l} is not an exact integer`);
      n = n * BASE + BigInt(limb);
    }
    out[i] = Number(n) / 2 ** fracBits;
  }
  return out;
}
