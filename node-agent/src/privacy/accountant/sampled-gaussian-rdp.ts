import { logAbsBinomials, logAdd, logErfc, logSub } from './log-math.js';
import { DEFAULT_RDP_ORDERS } from './orders.js';
import { isFiniteNumber, requireOrders, requireParameter } from './validate.js';

/**
 * RDP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Renyi
 * Differential Privacy of the Sampled Gaussian Mechanism", section 3.3), the analysis behind
 * TensorFlow Privacy's `compute_rdp` and Opacus's `analysis/rdp.py`:
 * RDP(alpha) = log(A_alpha) / (alpha - 1), with
 * A_alpha = E_{z ~ N(0, sigma^2)} [((1 - q) + q * exp((2z - 1) / (2 sigma^2)))^alpha].
 */
export interface SampledGaussianSettings {
  /** Poisson sampling probability q of each record per step, in [0, 1]. */
  readonly sampleRate: number;
  /** Noise standard deviation divided by the L2 clipping norm (sigma), >= 0. */
  readonly noiseMultiplier: number;
  /** Number of steps (composition count), a non-negative integer. */
  readonly steps: number;
  readonly orders?: readonly number[];
}

/** RDP at each order after `steps` steps: RDP adds up under composition. */
export function computeRdp(settings: SampledGaussianSettings): number[] {
  const { sampleRate: q, noiseMultiplier: sigma, steps } = settings;
  const orders = settings.orders ?? DEFAULT_RDP_ORDERS;
  requireParameter(isFiniteNumber(q) && q >= 0 && q <= 1, 'sampleRate', q, 'a number in [0, 1]');
  requireParameter(isFiniteNumber(sigma) && sigma >= 0, 'noiseMultiplier', sigma, 'a finite number >= 0');
  requireParameter(Number.isSafeInteger(steps) && steps >= 0, 'steps', steps, 'a non-negative integer');
  requireOrders(orders);
  return orders.map((alpha) => {
    const perStep = rdpOfOneStep(q, sigma, alpha);
    // 0 steps of an unbounded mechanism still cost nothing.
    return steps === 0 ? 0 : perStep * steps;
  });
}

/** RDP of one step of the sampled Gaussian mechanism at order alpha > 1. */
export function rdpOfOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma); // plain Gaussian mechanism
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAIntegerOrder(q, sigma, alpha) : logAFractionalOrder(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** Integer alpha: A_alpha = sum_{i=0..alpha} binom(alpha, i) (1-q)^(alpha-i) q^i exp((i^2 - i) / (2 sigma^2)). */
function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  let logA = -Infinity;
  let i = 0;
  for (const { logAbs } of logAbsBinomials(alpha)) {
    logA = logAdd(logA, logAbs + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigma2);
    i++;
  }
  return logA;
}

/**
 * Fractional alpha: the expectation splits at z0 = sigma^2 log(1/q - 1) + 1/2 into two convergent
 * binomial series whose terms carry Gaussian tail masses (erfc). Coefficients binom(alpha, i)
 * alternate in sign past i = ceil(alpha), hence the log-space subtraction.
 */
function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const sigmaSqrt2 = sigma * Math.SQRT2;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let i = 0;
  for (const { logAbs, sign } of logAbsBinomials(alpha)) {
    const j = alpha - i;
    const logS0 = logAbs + i * logQ + j * log1mQ + (i * i - i) / twoSigma2 - Math.LN2 + logErfc((i - z0) / sigmaSqrt2);
    const logS1 = logAbs + j * logQ + i * log1mQ + (j * j - j) / twoSigma2 - Math.LN2 + logErfc((z0 - j) / sigmaSqrt2);
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    i++;
    // Terms below e^-30 relative to A (which is >= 1) no longer change the result.
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}
