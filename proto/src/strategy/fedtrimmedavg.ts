import { defineStrategy } from './definition.js';
import { f32, plainServerStep } from './float32-ops.js';
import { checkLengths, column } from './robust.js';

/** FedTrimmedAvg: per coordinate, drop the `beta` share of largest and smallest values, average the rest. */
export const fedTrimmedAvg = defineStrategy({
  name: 'fedtrimmedavg',
  summary: 'robust: coordinate-wise trimmed mean of the updates (plaintext jobs only)',
  reference: 'Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018 (defaults: Flower FedTrimmedAvg)',
  parameters: {
    beta: { default: 0.2, min: 0, max: 0.49, describe: 'share trimmed from each end' },
  },
  combination: 'individual',
  combineIndividual: (updates, { beta }) => {
    const n = checkLengths(updates);
    const cut = Math.floor(beta * updates.length);
    const kept = updates.length - 2 * cut;
    const out = new Float32Array(n);
    const scratch = new Float64Array(updates.length);
    for (let i = 0; i < n; i++) {
      const sorted = column(updates, i, scratch);
      let s = 0;
      for (let k = cut; k < cut + kept; k++) s += sorted[k]!;
      out[i] = f32(s / kept);
    }
    return out;
  },
  serverStep: plainServerStep,
});
