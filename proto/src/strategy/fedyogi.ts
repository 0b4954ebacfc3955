import { adaptiveParameters, adaptiveStep } from './adaptive.js';
import { defineStrategy } from './definition.js';
import { f32 } from './float32-ops.js';

/**
 * FedYogi: Yogi's additive second moment, which grows or shrinks by at most (1-b2) d^2 a round:
 * m <- b1 m + (1-b1) d;  v <- v - (1-b2) d^2 sign(v - d^2);  w <- w + eta m / (sqrt(v) + tau).
 */
export const fedYogi = defineStrategy({
  name: 'fedyogi',
  summary: 'adaptive server optimizer: Yogi over the mean update',
  reference: 'Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (defaults: Flower FedYogi)',
  parameters: {
    serverLearningRate: adaptiveParameters.serverLearningRate(0.01),
    beta1: adaptiveParameters.beta1(0.9),
    beta2: adaptiveParameters.beta2(0.99),
    tau: adaptiveParameters.tau(1e-3),
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters: p }) => {
    const oneMinusB2 = f32(1 - f32(p.beta2));
    return adaptiveStep(global, meanDelta, state, {
      beta1: p.beta1, tau: p.tau, step: f32(p.serverLearningRate),
      secondMoment: (v, dd) => f32(v - f32(f32(oneMinusB2 * dd) * Math.sign(f32(v - dd)))),
      scalars: {},
    });
  },
});
