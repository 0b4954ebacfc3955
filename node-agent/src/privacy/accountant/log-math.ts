/**
 * Log-space arithmetic for the RDP accountant. The moments of the subsampled Gaussian span
 * hundreds of orders of magnitude (terms like exp(i^2 / 2 sigma^2)), so every sum is kept as a log.
 */

/** log(exp(a) + exp(b)) without overflow; -Infinity stands for 0. */
export function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === -Infinity) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(exp(a) - exp(b)) for a >= b; -Infinity stands for 0. */
export function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a < b) throw new RangeError('logSub: the result would be negative');
  if (a === b) return -Infinity;
  const d = a - b;
  // expm1 overflows past ~709; then exp(a) - exp(b) is exp(a) to double precision.
  return d > 700 ? a : b + Math.log(Math.expm1(d));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/**
 * log(erfc(x)) accurate in the far tail, where erfc itself underflows (x > ~26).
 * |x| <= 2: erf by its all-positive series (no cancellation), erfc = 1 - erf.
 * x > 2: the Laplace continued fraction, evaluated bottom-up, with exp(-x^2) kept as a log.
 * x < -2: erfc(x) = 2 - erfc(-x).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x > 2) return -x * x - LOG_SQRT_PI - Math.log(erfcContinuedFraction(x));
  if (x < -2) return Math.log(2 - Math.exp(logErfc(-x)));
  return Math.log1p(-erfSeries(x));
}

/** erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)); every term has x's sign. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= Math.abs(sum) * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** K(x) with erfc(x) = exp(-x^2) / (sqrt(pi) * K(x)), K = x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...))). */
function erfcContinuedFraction(x: number): number {
  // 120 levels reach full double precision for every x > 2 (the fraction converges faster as x grows).
  let tail = x;
  for (let n = 120; n >= 1; n--) tail = x + n / 2 / tail;
  return tail;
}

/** log of |binomial(alpha, i)| and its sign, for every i in 0..count-1; alpha may be fractional. */
export function* logAbsBinomials(alpha: number): Generator<{ readonly logAbs: number; readonly sign: 1 | -1 }> {
  let logAbs = 0;
  let sign: 1 | -1 = 1;
  for (let i = 0; ; i++) {
    yield { logAbs, sign };
    // binom(alpha, i + 1) = binom(alpha, i) * (alpha - i) / (i + 1)
    const factor = alpha - i;
    if (factor === 0) return; // integer alpha: every later coefficient is 0
    if (factor < 0) sign = sign === 1 ? -1 : 1;
    logAbs += Math.log(Math.abs(factor)) - Math.log(i + 1);
  }
}
