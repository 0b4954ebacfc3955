import { defineStrategy } from './definition.js';
import { f32, squared } from './float32-ops.js';
import { stateVector } from './server-state.js';

/**
 * FedYogi: Yogi's additive second moment, which grows or shrinks by at most (1-b2) d^2 a round:
 * m <- b1 m + (1-b1) d;  v <- v - (1-b2) d^2 sign(v - d^2);  w <- w + eta m / (sqrt(v) + tau).
 */
export const fedYogi = defineStrategy({
  name: 'fedyogi',
  summary: 'adaptive server optimizer: Yogi over the mean update',
  reference: 'Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (defaults: Flower FedYogi)',
  parameters: {
    serverLearningRate: { default: 0.01, min: 0, minExclusive: true, max: 10, describe: 'server learning rate eta' },
    beta1: { default: 0.9, min: 0, max: 0.999999, describe: 'first-moment decay' },
    beta2: { default: 0.99, min: 0, max: 0.999999, describe: 'second-moment decay' },
    tau: { default: 1e-3, min: 0, minExclusive: true, max: 1, describe: 'adaptivity (added to sqrt(v))' },
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters }) => {
    const n = global.length;
    const eta = f32(parameters.serverLearningRate);
    const b1 = f32(parameters.beta1);
    const tau = f32(parameters.tau);
    const oneMinusB1 = f32(1 - b1);
    const oneMinusB2 = f32(1 - f32(parameters.beta2));
    const m0 = stateVector(state, 'm', n);
    const v0 = stateVector(state, 'v', n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = meanDelta[i]!;
      const dd = squared(d);
      m[i] = f32(f32(b1 * m0[i]!) + f32(oneMinusB1 * d));
      v[i] = f32(v0[i]! - f32(f32(oneMinusB2 * dd) * Math.sign(f32(v0[i]! - dd))));
      next[i] = f32(global[i]! + f32(eta * f32(m[i]! / f32(f32(Math.sqrt(v[i]!)) + tau))));
    }
    return { global: next, state: { vectors: { m, v }, scalars: {} } };
  },
});
