import { describe, it, expect } from '@jest/globals';
import { evaluate } from '../../src/training/evaluate.js';
import type { TrainingArchitecture } from '../../src/training/types.js';

describe('evaluate', () => {
  it('computes mean cross-entropy and accuracy exactly for a hand-checked linear model', async () => {
    // Logistic regression with kernel [[1, 0, -1], [0, 2, 0]] (2 inputs, 3 classes) and bias [0, 0, 1].
    const arch: TrainingArchitecture = { inputs: 2, hidden: [], classes: 3, activation: 'relu' };
    const weights = Float32Array.from([1, 0, -1, 0, 2, 0, 0, 0, 1]);
    const x = Float32Array.from([1, 0, 0, 1, -1, -1]);
    const y = Int32Array.from([0, 1, 1]);
    const logits = [
      [1, 0, 0],
      [0, 2, 1],
      [-1, -2, 2],
    ];
    const crossEntropy = logits.map((row, i) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[y[i]!]!);
    const result = await evaluate(arch, weights, { x, y, n: 3, d: 2 });
    expect(result.loss).toBeCloseTo(crossEntropy.reduce((a, b) => a + b, 0) / 3, 5);
    expect(result.accuracy).toBeCloseTo(2 / 3, 10);
    expect(result.numSamples).toBe(3);
  });
});
