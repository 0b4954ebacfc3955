import { defineStrategy } from './definition.js';
import { f32, squared } from './float32-ops.js';
import { stateVector } from './server-state.js';

/**
 * FedAdagrad: Adagrad's accumulated second moment, m <- b1 m + (1-b1) d;  v <- v + d^2;
 * w <- w + eta m / (sqrt(v) + tau). With b1 = 0 (Flower's default) m is the round's delta.
 */
export const fedAdagrad = defineStrategy({
  name: 'fedadagrad',
  summary: 'adaptive server optimizer: Adagrad over the mean update',
  reference: 'Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (defaults: Flower FedAdagrad)',
  parameters: {
    serverLearningRate: { default: 0.1, min: 0, minExclusive: true, max: 10, describe: 'server learning rate eta' },
    beta1: { default: 0, min: 0, max: 0.999999, describe: 'first-moment decay (0: none)' },
    tau: { default: 1e-9, min: 0, minExclusive: true, max: 1, describe: 'adaptivity (added to sqrt(v))' },
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters }) => {
    const n = global.length;
    const eta = f32(parameters.serverLearningRate);
    const b1 = f32(parameters.beta1);
    const tau = f32(parameters.tau);
    const oneMinusB1 = f32(1 - b1);
    const m0 = stateVector(state, 'm', n);
    const v0 = stateVector(state, 'v', n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = meanDelta[i]!;
      m[i] = f32(f32(b1 * m0[i]!) + f32(oneMinusB1 * d));
      v[i] = f32(v0[i]! + squared(d));
      next[i] = f32(global[i]! + f32(eta * f32(m[i]! / f32(f32(Math.sqrt(v[i]!)) + tau))));
    }
    return { global: next, state: { vectors: { m, v }, scalars: {} } };
  },
});
