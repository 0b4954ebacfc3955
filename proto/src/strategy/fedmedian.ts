import { defineStrategy } from './definition.js';
import { plainServerStep } from './float32-ops.js';
import { checkLengths, column, median } from './robust.js';

/** FedMedian: the coordinate-wise median of the sites' deltas (unweighted); needs every individual update. */
export const fedMedian = defineStrategy({
  name: 'fedmedian',
  summary: 'robust: coordinate-wise median of the updates (plaintext jobs only)',
  reference: 'Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018',
  parameters: {},
  combination: 'individual',
  combineIndividual: (updates) => {
    const n = checkLengths(updates);
    const out = new Float32Array(n);
    const scratch = new Float64Array(updates.length);
    for (let i = 0; i < n; i++) out[i] = median(column(updates, i, scratch));
    return out;
  },
  serverStep: plainServerStep,
});
