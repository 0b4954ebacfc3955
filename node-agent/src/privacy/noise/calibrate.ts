import { PrivacyError } from '../errors.js';
import { divRational, rational, rationalFromNumber, type Rational } from './rational.js';

/**
 * Noise scales for releases on a fixed-point grid. `sensitivity` is in grid units (an integer: the
 * most one person can move the released integer).
 */

/** Discrete Laplace scale sensitivity / epsilon, exact: gives pure epsilon-DP. */
export function laplaceScale(epsilon: number, sensitivity: bigint): Rational {
  requirePositive(epsilon, 'epsilon');
  requireSensitivity(sensitivity);
  return divRational(rational(sensitivity), rationalFromNumber(epsilon, 'epsilon'));
}

/**
 * Discrete Gaussian variance for (epsilon, delta)-DP. N_Z(0, sigma^2) with sensitivity D satisfies
 * rho-zCDP with rho = D^2 / (2 sigma^2) (Canonne, Kamath, Steinke 2020, Theorem 4), and rho-zCDP
 * implies (rho + 2 sqrt(rho log(1/delta)), delta)-DP (Bun, Steinke 2016, Proposition 1.3). The
 * largest rho meeting epsilon is (sqrt(log(1/delta) + epsilon) - sqrt(log(1/delta)))^2.
 */
export function gaussianVariance(epsilon: number, delta: number, sensitivity: bigint): Rational {
  requirePositive(epsilon, 'epsilon');
  if (!Number.isFinite(delta) || delta <= 0 || delta >= 1) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `delta must be in (0, 1); got ${delta}`, { parameter: 'delta' });
  }
  requireSensitivity(sensitivity);
  const l = Math.log(1 / delta);
  const rho = (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2;
  const d = Number(sensitivity);
  // Round the variance up by a relative 1e-9 so float rounding can only add noise, never remove it.
  const sigma2 = ((d * d) / (2 * rho)) * (1 + 1e-9);
  return rationalFromNumber(sigma2, 'sigma2');
}

function requirePositive(x: number, name: string): void {
  if (!Number.isFinite(x) || x <= 0) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `${name} must be a finite number > 0; got ${x}`, { parameter: name });
  }
}

function requireSensitivity(s: bigint): void {
  if (s <= 0n) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `sensitivity must be a positive number of grid units; got ${s}`, { parameter: 'sensitivity' });
  }
}
