import { defineStrategy } from './definition.js';
import { plainServerStep } from './float32-ops.js';

/** FedAvg: the new model is the old plus the sites' sample-weighted mean delta. */
export const fedAvg = defineStrategy({
  name: 'fedavg',
  summary: 'sample-weighted mean of the sites\' updates',
  reference: 'McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017',
  parameters: {},
  combination: 'weighted-mean',
  serverStep: plainServerStep,
});
