import { defineStrategy } from './definition.js';
import { f32 } from './float32-ops.js';
import { stateVector } from './server-state.js';

/** FedAvgM: server momentum over the mean delta, v <- beta v + delta; w <- w + eta v. */
export const fedAvgM = defineStrategy({
  name: 'fedavgm',
  summary: 'FedAvg with server momentum',
  reference: 'Hsu et al., "Measuring the Effects of Non-Identical Data Distribution for Federated Visual Classification", 2019',
  parameters: {
    serverLearningRate: { default: 1, min: 0, minExclusive: true, max: 100, describe: 'server learning rate eta' },
    momentum: { default: 0.9, min: 0, max: 0.999999, describe: 'server momentum beta' },
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters }) => {
    const eta = f32(parameters.serverLearningRate);
    const beta = f32(parameters.momentum);
    const previous = stateVector(state, 'velocity', global.length);
    const velocity = new Float32Array(global.length);
    const next = new Float32Array(global.length);
    for (let i = 0; i < global.length; i++) {
      velocity[i] = f32(f32(beta * previous[i]!) + meanDelta[i]!);
      next[i] = f32(global[i]! + f32(eta * velocity[i]!));
    }
    return { global: next, state: { vectors: { velocity }, scalars: {} } };
  },
});
