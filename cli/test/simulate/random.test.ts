import { describe, it, expect } from '@jest/globals';
import { dirichlet, gamma, normal, seededRandom } from '../../src/simulate/random.js';

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const variance = (values: number[]): number => {
  const m = mean(values);
  return values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length;
};

describe('simulation distributions', () => {
  it('normal has the requested mean and spread', () => {
    const random = seededRandom(1);
    const draws = Array.from({ length: 20_000 }, () => normal(random, 3, 2));
    expect(mean(draws)).toBeCloseTo(3, 1);
    expect(Math.sqrt(variance(draws))).toBeCloseTo(2, 1);
  });

  it.each([0.3, 1, 4.5])('gamma(%p) has mean and variance equal to its shape', (shape) => {
    const random = seededRandom(2);
    const draws = Array.from({ length: 20_000 }, () => gamma(random, shape));
    expect(draws.every((g) => g >= 0)).toBe(true);
    expect(Math.abs(mean(draws) - shape)).toBeLessThan(0.05 * Math.max(1, shape));
    expect(Math.abs(variance(draws) - shape)).toBeLessThan(0.1 * Math.max(1, shape));
  });

  it('dirichlet draws are probability vectors, more uneven for small alpha', () => {
    const random = seededRandom(3);
    const spread = (alpha: number): number =>
      mean(Array.from({ length: 2000 }, () => {
        const p = dirichlet(random, alpha, 4);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
        expect(p.every((v) => v >= 0)).toBe(true);
        return Math.max(...p);
      }));
    const skewed = spread(0.1);
    const even = spread(100);
    expect(skewed).toBeGreaterThan(0.8);
    expect(even).toBeLessThan(0.3);
  });

  it('replays the same draws for the same seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect(Array.from({ length: 5 }, () => gamma(a, 0.5))).toEqual(Array.from({ length: 5 }, () => gamma(b, 0.5)));
  });
});
