import { fedAvg } from './fedavg.js';
import type { Strategy } from './strategy.js';

/**
 * FedProx (Li et al. 2020): the server step is FedAvg's; the proximal term mu/2 ||w - w_global||^2
 * lives in each site's local objective (the job spec carries `mu` to the sites).
 */
export const fedProx: Strategy = {
  name: 'fedprox',
  aggregate: (input) => fedAvg.aggregate(input),
};
