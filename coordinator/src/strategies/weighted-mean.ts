import type { Contribution } from './strategy.js';

/** Sample-weighted mean of the deltas, accumulated in float64 one contribution at a time. */
export async function weightedMeanDelta(length: number, contributions: AsyncIterable<Contribution>) {
  const sum = new Float64Array(length);
  let totalSamples = 0;
  let contributors = 0;
  for await (const c of contributions) {
    if (c.update.length !== length) throw new Error(`update of ${c.siteId} has ${c.update.length} values, expected ${length}`);
    const w = c.numSamples;
    for (let i = 0; i < length; i++) sum[i]! += w * c.update[i]!;
    totalSamples += w;
    contributors++;
  }
  if (totalSamples > 0) for (let i = 0; i < length; i++) sum[i]! /= totalSamples;
  return { mean: sum, totalSamples, contributors };
}
