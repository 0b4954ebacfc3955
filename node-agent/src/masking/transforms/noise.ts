import {
  defaultByteSource,
  fromGrid,
  gaussianVariance,
  laplaceScale,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  toGrid,
  type ByteSource,
} from '../../privacy/noise/index.js';
import type { NoiseSpec } from '../policy.js';

/**
 * Per-value noise for a numeric field: clamp to [lower, upper], move to the fixed-point grid, add
 * exact discrete Laplace (pure epsilon-DP) or discrete Gaussian ((epsilon, delta)-DP via zCDP) noise
 * calibrated to the clamped range, and map back. One patient's value can move by at most the range,
 * so that range (in grid steps) is the sensitivity.
 */
export function noisyValue(value: number, spec: NoiseSpec, source: ByteSource = defaultByteSource()): number {
  const g = spec.granularity ?? 1;
  const clamped = Math.min(spec.upper, Math.max(spec.lower, value));
  const sensitivity = maxBig(1n, toGrid(spec.upper, g) - toGrid(spec.lower, g));
  const steps = toGrid(clamped, g);
  const noise =
    spec.mechanism === 'laplace'
      ? sampleDiscreteLaplace(laplaceScale(spec.epsilon, sensitivity), source)
      : sampleDiscreteGaussian(gaussianVariance(spec.epsilon, spec.delta ?? 0, sensitivity), source);
  return fromGrid(steps + noise, g);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
