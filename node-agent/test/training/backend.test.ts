import { describe, it, expect } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { FALLBACK_BACKENDS, initTrainingBackend } from '../../src/training/backend.js';

describe('initTrainingBackend', () => {
  it('selects a backend, reports it, and is idempotent', async () => {
    const first = await initTrainingBackend();
    expect(['tensorflow', ...FALLBACK_BACKENDS]).toContain(first.backend);
    expect(tf.getBackend()).toBe(first.backend);
    expect(first.note.length).toBeGreaterThan(0);
    if (process.env['MEDFED_TRAINING_BACKEND'] === undefined && first.note.includes('@tensorflow/tfjs-node: not installed')) {
      // Without native bindings the measured-faster pure fallback is used.
      expect(first.backend).toBe(FALLBACK_BACKENDS[0]);
    }
    const second = await initTrainingBackend();
    expect(second).toBe(first);
  });

  it('runs ops correctly on the selected backend', async () => {
    await initTrainingBackend();
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync());
    expect(Array.from(product)).toEqual([17, 39]);
  });
});
