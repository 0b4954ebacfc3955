import { PrivacyError } from '../errors.js';
import { defaultByteSource, type ByteSource } from './byte-source.js';
import { uniform53 } from './uniform.js';

const { cos, log, sin, sqrt, PI } = Math;

/**
 * Continuous Gaussian noise for DP-SGD: `count` draws of N(0, sigma^2) by the Box-Muller transform
 * over uniform 53-bit doubles from the secure source.
 *
 * Caveat: like every floating-point sampler this is not the ideal distribution. Its outputs lie on
 * an irregular set of doubles, and Mironov (2012) showed that such artefacts can distinguish
 * neighbouring inputs for floating-point Laplace. Model updates are high-dimensional, clipped and
 * aggregated, which is the setting where DP-SGD libraries accept this; releases of statistics use
 * the exact discrete samplers on a fixed-point grid instead.
 */
export function gaussian(count: number, sigma: number, source: ByteSource = defaultByteSource()): Float64Array {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `count must be a non-negative integer; got ${count}`, { parameter: 'count' });
  }
  if (!Number.isFinite(sigma) || sigma < 0) {
    throw new PrivacyError('PRIVACY_INVALID_PARAMETER', `sigma must be a finite number >= 0; got ${sigma}`, { parameter: 'sigma' });
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - uniform53(source); // (0, 1]: log(0) never happens
    const u2 = uniform53(source);
    const r = sigma * sqrt(-2 * log(u1));
    out[i] = r * cos(2 * PI * u2);
    if (i + 1 < count) out[i + 1] = r * sin(2 * PI * u2);
  }
  return out;
}
