import { adaptiveParameters, adaptiveStep } from './adaptive.js';
import { defineStrategy } from './definition.js';
import { f32 } from './float32-ops.js';

/**
 * FedAdagrad: Adagrad's accumulated second moment, m <- b1 m + (1-b1) d;  v <- v + d^2;
 * w <- w + eta m / (sqrt(v) + tau). With b1 = 0 (Flower's default) m is the round's delta.
 */
export const fedAdagrad = defineStrategy({
  name: 'fedadagrad',
  summary: 'adaptive server optimizer: Adagrad over the mean update',
  reference: 'Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (defaults: Flower FedAdagrad)',
  parameters: {
    serverLearningRate: adaptiveParameters.serverLearningRate(0.1),
    beta1: adaptiveParameters.beta1(0),
    tau: adaptiveParameters.tau(1e-9),
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters: p }) => adaptiveStep(global, meanDelta, state, {
    beta1: p.beta1, tau: p.tau, step: f32(p.serverLearningRate),
    secondMoment: (v, dd) => f32(v + dd),
    scalars: {},
  }),
});
