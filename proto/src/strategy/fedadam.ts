import { defineStrategy } from './definition.js';
import { f32, squared } from './float32-ops.js';
import { stateScalar, stateVector } from './server-state.js';

/**
 * FedAdam: Adam on the server, with the mean delta as the pseudo-gradient and Adam's bias
 * correction (beta^t kept as running products in the state, never Math.pow):
 * m <- b1 m + (1-b1) d;  v <- b2 v + (1-b2) d^2;  w <- w + eta sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + tau).
 */
export const fedAdam = defineStrategy({
  name: 'fedadam',
  summary: 'adaptive server optimizer: Adam over the mean update',
  reference: 'Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (defaults: Flower FedAdam)',
  parameters: {
    serverLearningRate: { default: 0.1, min: 0, minExclusive: true, max: 10, describe: 'server learning rate eta' },
    beta1: { default: 0.9, min: 0, max: 0.999999, describe: 'first-moment decay' },
    beta2: { default: 0.99, min: 0, max: 0.999999, describe: 'second-moment decay' },
    tau: { default: 1e-9, min: 0, minExclusive: true, max: 1, describe: 'adaptivity (added to sqrt(v))' },
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters }) => {
    const n = global.length;
    const eta = f32(parameters.serverLearningRate);
    const b1 = f32(parameters.beta1);
    const b2 = f32(parameters.beta2);
    const tau = f32(parameters.tau);
    const oneMinusB1 = f32(1 - b1);
    const oneMinusB2 = f32(1 - b2);
    const b1t = f32(stateScalar(state, 'beta1Power', 1) * b1);
    const b2t = f32(stateScalar(state, 'beta2Power', 1) * b2);
    const step = f32(f32(eta * f32(Math.sqrt(f32(1 - b2t)))) / f32(1 - b1t));
    const m0 = stateVector(state, 'm', n);
    const v0 = stateVector(state, 'v', n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = meanDelta[i]!;
      m[i] = f32(f32(b1 * m0[i]!) + f32(oneMinusB1 * d));
      v[i] = f32(f32(b2 * v0[i]!) + f32(oneMinusB2 * squared(d)));
      next[i] = f32(global[i]! + f32(step * f32(m[i]! / f32(f32(Math.sqrt(v[i]!)) + tau))));
    }
    return { global: next, state: { vectors: { m, v }, scalars: { beta1Power: b1t, beta2Power: b2t } } };
  },
});
