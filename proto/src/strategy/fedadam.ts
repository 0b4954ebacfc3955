import { adaptiveParameters, adaptiveStep } from './adaptive.js';
import { defineStrategy } from './definition.js';
import { f32 } from './float32-ops.js';
import { stateScalar } from './server-state.js';

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
    serverLearningRate: adaptiveParameters.serverLearningRate(0.1),
    beta1: adaptiveParameters.beta1(0.9),
    beta2: adaptiveParameters.beta2(0.99),
    tau: adaptiveParameters.tau(1e-9),
  },
  combination: 'weighted-mean',
  serverStep: ({ global, meanDelta, state, parameters: p }) => {
    const b1 = f32(p.beta1);
    const b2 = f32(p.beta2);
    const oneMinusB2 = f32(1 - b2);
    const b1t = f32(stateScalar(state, 'beta1Power', 1) * b1);
    const b2t = f32(stateScalar(state, 'beta2Power', 1) * b2);
    return adaptiveStep(global, meanDelta, state, {
      beta1: p.beta1, tau: p.tau,
      step: f32(f32(f32(p.serverLearningRate) * f32(Math.sqrt(f32(1 - b2t)))) / f32(1 - b1t)),
      secondMoment: (v, dd) => f32(f32(b2 * v) + f32(oneMinusB2 * dd)),
      scalars: { beta1Power: b1t, beta2Power: b2t },
    });
  },
});
