import type { StatsLayout } from './layout.js';
import type { StatsQuery } from './query.js';

/**
 * How a site noises a query's vector and what error that leaves in the pooled result. The budget
 * (epsilon, delta) is split evenly by basic composition over the released kinds: count, and per
 * field n, sum, sum of squares and the histogram (those asked). One patient changes one cell: its
 * count, n and one histogram bin by 1, its sum by at most max|x| and its sum of squares by max x^2
 * (in fixed-point grid units), so those are the sensitivities.
 */
export type NoiseKind = 'count' | 'n' | 'sum' | 'sumsq' | 'histogram';

export interface KindNoise {
  readonly kind: NoiseKind;
  readonly field: string | null;
  /** Sensitivity in grid units. */
  readonly sensitivity: bigint;
  readonly epsilon: number;
  readonly delta: number;
  /** Offsets inside a cell block this noise applies to. */
  readonly offsets: readonly number[];
}

/** Probability that any noisy value of the pooled vector exceeds its stated bound. */
export const BOUND_FAILURE_PROBABILITY = 1e-6;

export function noisePlan(q: StatsQuery, layout: StatsLayout): KindNoise[] {
  if (!q.dp) return [];
  const kinds: Omit<KindNoise, 'epsilon' | 'delta'>[] = [{ kind: 'count', field: null, sensitivity: 1n, offsets: [layout.count] }];
  for (const [i, f] of q.fields.entries()) {
    const slots = layout.fields[i]!;
    const maxAbs = BigInt(Math.max(Math.abs(Math.round(f.lower * layout.scale)), Math.abs(Math.round(f.upper * layout.scale)), 1));
    kinds.push({ kind: 'n', field: f.name, sensitivity: 1n, offsets: [slots.n] });
    if (slots.sum !== null) kinds.push({ kind: 'sum', field: f.name, sensitivity: maxAbs, offsets: [slots.sum] });
    if (slots.sumsq !== null) kinds.push({ kind: 'sumsq', field: f.name, sensitivity: maxAbs * maxAbs, offsets: [slots.sumsq] });
    if (slots.hist !== null) kinds.push({ kind: 'histogram', field: f.name, sensitivity: 1n, offsets: Array.from({ length: slots.bins }, (_, b) => slots.hist! + b) });
  }
  const epsilon = q.dp.epsilon / kinds.length;
  const delta = (q.dp.delta ?? 0) / kinds.length;
  return kinds.map((k) => ({ ...k, epsilon, delta }));
}

/** Discrete Gaussian variance for (epsilon, delta) at this sensitivity (same rule as the site's sampler). */
export function gaussianSigma2(epsilon: number, delta: number, sensitivity: bigint): number {
  const l = Math.log(1 / delta);
  const rho = (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2;
  const d = Number(sensitivity);
  return ((d * d) / (2 * rho)) * (1 + 1e-9);
}

/**
 * The bound, in grid units, that the summed noise of `sites` sites stays under for every one of
 * `values` entries at once, except with probability BOUND_FAILURE_PROBABILITY.
 * Laplace: a discrete Laplace of scale b has P(|X| >= k) <= 2 exp(-k/b); a union bound over all
 * entries and sites gives sites * b * ln(2 * values * sites / beta).
 * Gaussian: the discrete Gaussian is sigma^2-subgaussian, a sum of `sites` is sites*sigma^2-subgaussian,
 * so the bound is sqrt(2 * sites * sigma^2 * ln(2 * values / beta)).
 */
export function noiseBound(mechanism: 'laplace' | 'gaussian', k: KindNoise, sites: number, values: number): number {
  const beta = BOUND_FAILURE_PROBABILITY;
  if (mechanism === 'laplace') {
    const b = Number(k.sensitivity) / k.epsilon;
    return sites * b * Math.log((2 * values * sites) / beta);
  }
  const sigma2 = gaussianSigma2(k.epsilon, k.delta, k.sensitivity);
  return Math.sqrt(2 * sites * sigma2 * Math.log((2 * values) / beta));
}
