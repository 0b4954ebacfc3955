import { defaultByteSource, type ByteSource } from './byte-source.js';
import type { Rational } from './rational.js';
import { bernoulliRational, uniformBelowSmall } from './uniform.js';

// Bound once: this runs in the samplers' innermost loop (global lookups are slow in sandboxes).
const toNumber = Number;
const toBigInt = BigInt;

/** Below this denominator the loop runs in exact double arithmetic (den * k stays under 2^48). */
const SMALL_DEN = 2n ** 40n;

/**
 * Bernoulli(exp(-gamma)) for a rational gamma >= 0, exactly, with integer arithmetic only
 * (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian for Differential Privacy", Algorithm 1).
 */
export function bernoulliExpMinus(gamma: Rational, source: ByteSource = defaultByteSource()): boolean {
  const { num, den } = gamma;
  if (num <= den) return bernoulliExpMinusAtMostOne(num, den, source);
  // exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma))): every factor must succeed.
  const whole = num / den;
  for (let k = 0n; k < whole; k++) {
    if (!bernoulliExpMinusAtMostOne(1n, 1n, source)) return false;
  }
  return bernoulliExpMinusAtMostOne(num - whole * den, den, source);
}

/**
 * gamma = num/den in [0, 1]: draw A_k ~ Bernoulli(gamma / k) for k = 1, 2, ... until one fails;
 * the index K of the first failure is odd with probability exactly exp(-gamma).
 */
function bernoulliExpMinusAtMostOne(num: bigint, den: bigint, source: ByteSource): boolean {
  let k = 1;
  if (den <= SMALL_DEN) {
    const n = toNumber(num);
    const d = toNumber(den);
    // Same draws as the bigint loop below, in doubles; k past 256 (probability < 1/256!) falls through.
    while (k < 256 && uniformBelowSmall(d * k, source) < n) k++;
    if (k < 256) return k % 2 === 1;
  }
  let big = toBigInt(k);
  while (bernoulliRational(num, den * big, source)) big++;
  return big % 2n === 1n;
}
