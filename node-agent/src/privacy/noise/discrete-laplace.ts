import { PrivacyError } from '../errors.js';
import { bernoulliExpMinus } from './bernoulli-exp.js';
import { defaultByteSource, type ByteSource } from './byte-source.js';
import type { Rational } from './rational.js';
import { uniformBelow } from './uniform.js';

const ONE: Rational = { num: 1n, den: 1n };

/**
 * One draw of the discrete Laplace distribution with scale b = num/den:
 * P[X = x] proportional to exp(-|x| / b) on the integers (Canonne, Kamath, Steinke 2020,
 * Algorithm 2). Exact: no floating point, so no Mironov-style gaps in the support.
 */
export function sampleDiscreteLaplace(scale: Rational, source: ByteSource = defaultByteSource()): bigint {
  // The paper's parameters: scale = t / s with integers s, t >= 1.
  const t = scale.num;
  const s = scale.den;
  if (t <= 0n || s <= 0n) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `discrete Laplace scale must be > 0; got ${t}/${s}`, { parameter: 'scale' });
  }
  for (;;) {
    const u = uniformBelow(t, source);
    if (!bernoulliExpMinus({ num: u, den: t }, source)) continue;
    let v = 0n;
    while (bernoulliExpMinus(ONE, source)) v++;
    // u + t*v is geometric with parameter exp(-1/t); dividing by s rescales it to exp(-s/t).
    const y = (u + t * v) / s;
    const negative = uniformBelow(2n, source) === 1n;
    if (negative && y === 0n) continue; // otherwise 0 would be drawn twice as often
    return negative ? -y : y;
  }
}

/** `count` independent draws with the same scale. */
export function discreteLaplace(count: number, scale: Rational, source: ByteSource = defaultByteSource()): bigint[] {
  return Array.from({ length: count }, () => sampleDiscreteLaplace(scale, source));
}

/** Variance of the discrete Laplace with scale b: 2p / (1 - p)^2 with p = exp(-1/b). */
export function discreteLaplaceVariance(scale: number): number {
  const p = Math.exp(-1 / scale);
  return (2 * p) / ((1 - p) * (1 - p));
}
