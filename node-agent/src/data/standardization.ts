import { standardizationOf, type Standardization } from '@medfed/proto';
import { DataError } from './errors.js';

/**
 * Mean and population std from summed `[n, sum.., sumsq..]` statistics (see
 * localFeatureStatistics): mean = sum / n, var = sumsq / n - mean^2. A variance at or below
 * rounding level (constant feature, or noise from approximate encrypted sums) gives std 1, so the
 * feature is only centred; a slightly negative variance from the same noise is clamped.
 */
export function standardizationFromSums(summed: Float64Array, d: number): Standardization {
  const result = standardizationOf(summed, d);
  if (typeof result === 'string') throw new DataError('DATA_STANDARDIZATION_INVALID', result);
  return result;
}
