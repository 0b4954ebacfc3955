import { defineStrategy } from './definition.js';
import { plainServerStep } from './float32-ops.js';
import { checkLengths } from './robust.js';

/**
 * Krum: the update closest (sum of squared distances to its n - f - 2 nearest) to the others, with
 * f the number of Byzantine sites tolerated; it needs every individual update.
 */
export const krum = defineStrategy({
  name: 'krum',
  summary: 'robust: the update nearest its neighbours (plaintext jobs only)',
  reference: 'Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017',
  parameters: {
    byzantine: { default: 0, min: 0, max: 100, describe: 'Byzantine sites tolerated (f)' },
  },
  combination: 'individual',
  combineIndividual: (updates, { byzantine }) => {
    const length = checkLengths(updates);
    const k = updates.length;
    const neighbours = Math.max(1, k - Math.floor(byzantine) - 2);
    let best = 0;
    let bestScore = Infinity;
    for (let a = 0; a < k; a++) {
      const distances: number[] = [];
      for (let b = 0; b < k; b++) {
        if (a === b) continue;
        let s = 0;
        for (let i = 0; i < length; i++) { const d = updates[a]!.delta[i]! - updates[b]!.delta[i]!; s += d * d; }
        distances.push(s);
      }
      const score = distances.sort((x, y) => x - y).slice(0, neighbours).reduce((s, d) => s + d, 0);
      if (score < bestScore) { bestScore = score; best = a; }
    }
    return Float32Array.from(updates[best]?.delta ?? new Float32Array(length));
  },
  serverStep: plainServerStep,
});
