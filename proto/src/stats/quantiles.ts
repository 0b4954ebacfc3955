/**
 * Quantiles from a pooled histogram over equal-width bins on [lower, upper]: the bin holding the
 * target rank is found from the cumulative counts, and the value is interpolated linearly inside
 * it. The true quantile of the (clamped) data lies in that same bin, so the error is at most one
 * bin width, (upper - lower) / bins. Noisy (negative) counts are read as 0.
 */
export function quantilesFromHistogram(counts: readonly number[], lower: number, upper: number, qs: readonly number[]): (number | null)[] {
  const c = counts.map((x) => Math.max(0, x));
  const total = c.reduce((a, b) => a + b, 0);
  if (total <= 0) return qs.map(() => null);
  const width = (upper - lower) / c.length;
  return qs.map((q) => {
    const target = q * total;
    let cum = 0;
    for (let j = 0; j < c.length; j++) {
      const cj = c[j]!;
      if (cj > 0 && cum + cj >= target) return lower + width * (j + (target - cum) / cj);
      cum += cj;
    }
    return upper;
  });
}

export function binWidth(lower: number, upper: number, bins: number): number {
  return (upper - lower) / bins;
}
