import { defineStrategy } from './definition.js';
import { plainServerStep } from './float32-ops.js';

/**
 * FedProx: FedAvg's server step; each site adds mu/2 ||w - w_global||^2 to its local objective,
 * which keeps heterogeneous sites from drifting far from the global model.
 */
export const fedProx = defineStrategy({
  name: 'fedprox',
  summary: 'FedAvg with a proximal term mu/2 ||w - w_global||^2 in every site\'s local objective',
  reference: 'Li et al., "Federated Optimization in Heterogeneous Networks", 2020',
  parameters: {
    mu: { default: 0.01, min: 0, max: 10, describe: 'proximal weight in the local objective' },
  },
  combination: 'weighted-mean',
  clientConfig: ({ mu }) => ({ proximalMu: mu }),
  serverStep: plainServerStep,
});
