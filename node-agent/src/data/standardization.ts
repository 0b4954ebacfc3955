import type { Standardization } from '@medfed/proto';
import { DataError } from './errors.js';

/**
 * Mean and population std from summed `[n, sum.., sumsq..]` statistics (see
 * localFeatureStatistics): mean = sum / n, var = sumsq / n - mean^2. A variance at or below
 * rounding level (constant feature, or noise from approximate encrypted sums) gives std 1, so the
 * feature is only centred; a slightly negative variance from the same noise is clamped.
 */
export function standardizationFromSums(summed: Float64Array, d: number): Standardization {
  if (!Number.isSafeInteger(d) || d < 1 || summed.length !== 1 + 2 * d) {
    throw new DataError('DATA_STANDARDIZATION_INVALID', `Summed statistics have ${summed.length} values; ${d} features need 1 + 2 * ${d} = ${1 + 2 * d}.`);
  }
  const n = summed[0]!;
  if (!(n >= 1) || !Number.isFinite(n)) {
    throw new DataError('DATA_STANDARDIZATION_INVALID', `Summed statistics report n = ${n} rows; at least 1 is needed.`);
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < d; j++) {
    const sum = summed[1 + j]!;
    const squares = summed[1 + d + j]!;
    if (!Number.isFinite(sum) || !Number.isFinite(squares)) {
      throw new DataError('DATA_STANDARDIZATION_INVALID', `Summed statistics for feature ${j + 1} are not finite.`);
    }
    const m = sum / n;
    const variance = squares / n - m * m;
    const floor = 1e-10 * Math.max(1, m * m);
    mean.push(m);
    std.push(variance > floor ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}
