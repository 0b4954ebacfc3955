import { describe, expect, it } from '@jest/globals';
import {
  discreteGaussian,
  discreteGaussianVariance,
  discreteLaplace,
  discreteLaplaceVariance,
  gaussian,
  rational,
} from '../../../src/privacy/noise/index.js';
import { meanAndVariance, seededByteSource } from '../support/seeded-source.js';

/**
 * 100,000 draws per sampler: the sample variance must be within 2% of theory and the mean near 0.
 * The bound is checked on a seeded AES-CTR stream (reproducible), and again on the default OS
 * source with a tolerance of six standard errors (so it fails for a broken sampler, not by chance).
 */
const N = 100_000;

const samplers = [
  {
    name: 'discrete Laplace, scale 10',
    draw: (source?: ReturnType<typeof seededByteSource>) => discreteLaplace(N, rational(10), source).map(Number),
    variance: discreteLaplaceVariance(10),
    // Laplace kurtosis 6: the sample variance has relative standard error sqrt(5 / N).
    relativeStdError: Math.sqrt(5 / N),
  },
  {
    name: 'discrete Gaussian, sigma^2 = 100',
    draw: (source?: ReturnType<typeof seededByteSource>) => discreteGaussian(N, rational(100), source).map(Number),
    variance: discreteGaussianVariance(10),
    relativeStdError: Math.sqrt(2 / N),
  },
  {
    name: 'continuous Gaussian (Box-Muller), sigma 3',
    draw: (source?: ReturnType<typeof seededByteSource>) => Array.from(gaussian(N, 3, source)),
    variance: 9,
    relativeStdError: Math.sqrt(2 / N),
  },
];

describe('noise samplers: distribution over 100,000 draws', () => {
  it.each(samplers)('$name: variance within 2% of theory, mean near 0 (seeded CSPRNG stream)', ({ name, draw, variance }) => {
    const { mean, variance: observed } = meanAndVariance(draw(seededByteSource(`distribution:${name}`)));
    expect(Math.abs(observed / variance - 1)).toBeLessThan(0.02);
    // Standard error of the mean is sqrt(variance / N); 5 of them.
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(variance / N));
  });

  it.each(samplers)('$name: the default OS source gives the same distribution', ({ draw, variance, relativeStdError }) => {
    const { mean, variance: observed } = meanAndVariance(draw());
    expect(Math.abs(observed / variance - 1)).toBeLessThan(6 * relativeStdError);
    expect(Math.abs(mean)).toBeLessThan(6 * Math.sqrt(variance / N));
  });

  it('the discrete samplers are symmetric and integer-valued, with the right mass at 0', () => {
    const draws = discreteLaplace(20_000, rational(2), seededByteSource('shape')).map(Number);
    expect(draws.every(Number.isInteger)).toBe(true);
    const p = Math.exp(-1 / 2);
    const massAtZero = (1 - p) / (1 + p); // P[X = 0] of the discrete Laplace with scale 2
    const zeros = draws.filter((x) => x === 0).length / draws.length;
    expect(Math.abs(zeros - massAtZero)).toBeLessThan(0.015);
    const positive = draws.filter((x) => x > 0).length;
    const negative = draws.filter((x) => x < 0).length;
    expect(Math.abs(positive - negative) / draws.length).toBeLessThan(0.02);
  });
});
