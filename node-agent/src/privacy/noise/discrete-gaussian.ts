import { PrivacyError } from '../errors.js';
import { bernoulliExpMinus } from './bernoulli-exp.js';
import { defaultByteSource, type ByteSource } from './byte-source.js';
import { sampleDiscreteLaplace } from './discrete-laplace.js';
import { isqrt, type Rational } from './rational.js';

/**
 * One draw of the discrete Gaussian N_Z(0, sigma^2): P[X = x] proportional to exp(-x^2 / 2 sigma^2)
 * on the integers, for a rational sigma^2 (Canonne, Kamath, Steinke 2020, Algorithm 3): rejection
 * sampling from a discrete Laplace of scale t = floor(sigma) + 1, exact in integer arithmetic.
 */
export function sampleDiscreteGaussian(sigma2: Rational, source: ByteSource = defaultByteSource()): bigint {
  const { num: a, den: b } = sigma2; // sigma^2 = a / b
  if (a <= 0n || b <= 0n) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `discrete Gaussian variance must be > 0; got ${a}/${b}`, { parameter: 'sigma2' });
  }
  const t = isqrt(a / b) + 1n; // floor(sigma) + 1
  for (;;) {
    const y = sampleDiscreteLaplace({ num: t, den: 1n }, source);
    const absY = y < 0n ? -y : y;
    // Accept with probability exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))
    //   = exp(-(|y| b t - a)^2 / (2 a b t^2)).
    const d = absY * b * t - a;
    if (bernoulliExpMinus({ num: d * d, den: 2n * a * b * t * t }, source)) return y;
  }
}

/** `count` independent draws with the same variance parameter. */
export function discreteGaussian(count: number, sigma2: Rational, source: ByteSource = defaultByteSource()): bigint[] {
  return Array.from({ length: count }, () => sampleDiscreteGaussian(sigma2, source));
}

/** Exact variance of N_Z(0, sigma^2) by summing the (rapidly vanishing) mass function. */
export function discreteGaussianVariance(sigma: number): number {
  const limit = Math.ceil(sigma * 40) + 10;
  let mass = 1; // x = 0
  let second = 0;
  for (let x = 1; x <= limit; x++) {
    const w = Math.exp((-x * x) / (2 * sigma * sigma));
    mass += 2 * w;
    second += 2 * x * x * w;
  }
  return second / mass;
}
