import type { Strategy } from './strategy.js';
import { weightedMeanDelta } from './weighted-mean.js';

/**
 * FedAvgM (Hsu et al. 2019): server momentum over the averaged delta,
 * v <- beta * v + delta;  w <- w + eta * v.
 */
export const fedAvgM: Strategy = {
  name: 'fedavgm',
  async aggregate({ global, contributions, state, settings }) {
    const beta = settings.momentum ?? 0.9;
    const eta = settings.serverLearningRate ?? 1;
    const { mean, totalSamples, contributors } = await weightedMeanDelta(global.length, contributions);
    const previous = state?.velocity;
    const velocity = new Array<number>(global.length);
    const next = new Float32Array(global.length);
    for (let i = 0; i < global.length; i++) {
      velocity[i] = beta * (previous?.[i] ?? 0) + mean[i]!;
      next[i] = global[i]! + eta * velocity[i]!;
    }
    return { global: next, state: { velocity }, contributors, totalSamples };
  },
};
