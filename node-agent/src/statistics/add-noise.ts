import { noisePlan, type StatsLayout, type StatsQuery } from '@medfed/proto/stats/index';
import { discreteGaussian, discreteLaplace, gaussianVariance, laplaceScale, type ByteSource } from '../privacy/noise/index.js';

/**
 * Adds exact discrete noise to every entry of a site's answer (the query's dp settings; budget
 * split per kind as noisePlan says). Integer noise keeps the exact encrypted path exact: the pooled
 * vector is the pooled data plus the sum of the sites' noise.
 */
export function addStatsNoise(q: StatsQuery, layout: StatsLayout, vector: bigint[], source?: ByteSource): void {
  if (!q.dp) return;
  const cells = layout.cells.length;
  for (const k of noisePlan(q, layout)) {
    const count = cells * k.offsets.length;
    const noise = q.dp.mechanism === 'laplace'
      ? discreteLaplace(count, laplaceScale(k.epsilon, k.sensitivity), source)
      : discreteGaussian(count, gaussianVariance(k.epsilon, k.delta, k.sensitivity), source);
    let j = 0;
    for (let c = 0; c < cells; c++) for (const o of k.offsets) vector[c * layout.block + o]! += noise[j++]!;
  }
}
