import type { Strategy } from './strategy.js';
import { weightedMeanDelta } from './weighted-mean.js';

/** FedAvg (McMahan et al. 2017): the new model is the sample-weighted mean of the sites' models. */
export const fedAvg: Strategy = {
  name: 'fedavg',
  async aggregate({ global, contributions }) {
    const { mean, totalSamples, contributors } = await weightedMeanDelta(global.length, contributions);
    const next = new Float32Array(global.length);
    for (let i = 0; i < global.length; i++) next[i] = global[i]! + mean[i]!;
    return { global: next, state: null, contributors, totalSamples };
  },
};
