import { seededRandom, shuffleInPlace, type SeededRandom } from '@medfed/node-agent/training/index';

/**
 * Seeded randomness for simulations: the node agent's generator (so one seed reproduces a whole
 * run) plus the continuous distributions the synthetic cohort and Dirichlet splits need.
 */
export { seededRandom, shuffleInPlace, type SeededRandom };

/** Standard normal draw (Marsaglia polar method). */
export function normal(random: SeededRandom, mean = 0, std = 1): number {
  for (;;) {
    const u = 2 * random.next() - 1;
    const v = 2 * random.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return mean + std * u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

export function bernoulli(random: SeededRandom, p: number): number {
  return random.next() < p ? 1 : 0;
}

/**
 * Gamma(shape, 1) by Marsaglia and Tsang's squeeze method; for shape < 1 it samples
 * Gamma(shape + 1) and scales by U^(1/shape).
 */
export function gamma(random: SeededRandom, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be a positive number, got ${shape}`);
  if (shape < 1) {
    const u = 1 - random.next();
    return gamma(random, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random.next();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** One draw from Dirichlet(alpha, ..., alpha) over `k` parts: normalised Gamma(alpha) draws. */
export function dirichlet(random: SeededRandom, alpha: number, k: number): number[] {
  for (;;) {
    const draws = Array.from({ length: k }, () => gamma(random, alpha));
    const total = draws.reduce((a, b) => a + b, 0);
    // Tiny alphas can underflow every draw to 0; redraw rather than divide by zero.
    if (total > 0) return draws.map((g) => g / total);
  }
}
