import { PrivacyError } from '../errors.js';

/** An exact non-negative rational num/den (den > 0). The exact samplers never touch floating point. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export function rational(num: bigint | number, den: bigint | number = 1n): Rational {
  const n = BigInt(num);
  const d = BigInt(den);
  if (d <= 0n || n < 0n) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `a rational parameter must be non-negative with a positive denominator; got ${n}/${d}`);
  }
  return reduce(n, d);
}

/**
 * The exact value of a finite non-negative double as a rational. Every double is a dyadic
 * rational m / 2^k, so no rounding happens here.
 */
export function rationalFromNumber(x: number, name = 'value'): Rational {
  if (!Number.isFinite(x) || x < 0) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `${name} must be a finite number >= 0; got ${x}`, { parameter: name });
  }
  let den = 1n;
  let scaled = x;
  // At most 1074 doublings turn any double into an integer.
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    den *= 2n;
  }
  return reduce(BigInt(scaled), den);
}

export function mulRational(a: Rational, b: Rational): Rational {
  return reduce(a.num * b.num, a.den * b.den);
}

export function divRational(a: Rational, b: Rational): Rational {
  if (b.num === 0n) throw new PrivacyError('PRIVACY_INVALID_PARAMETER', 'division by a zero rational parameter');
  return reduce(a.num * b.den, a.den * b.num);
}

/** floor(sqrt(n)) for n >= 0, exact. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Newton steps fix the float estimate for numbers past 2^52.
  while (x * x > n) x = (x + n / x) / 2n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

function reduce(num: bigint, den: bigint): Rational {
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
