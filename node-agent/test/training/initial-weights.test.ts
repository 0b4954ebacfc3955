import { describe, it, expect } from '@jest/globals';
import { layerShapes, parameterCount } from '@medfed/proto';
import { initialWeights as sharedInitialWeights } from '@medfed/proto/job/initial-weights';
import { initialWeights } from '../../src/training/initial-weights.js';

describe('initialWeights', () => {
  it('fills the shared layout: Glorot-uniform kernels within their limit, zero biases', () => {
    const weights = initialWeights(11, [16, 8], 3, 7);
    expect(weights).toHaveLength(parameterCount(11, [16, 8], 3));
    let offset = 0;
    for (const layer of layerShapes(11, [16, 8], 3)) {
      const size = layer.shape.reduce((a, b) => a * b, 1);
      const values = Array.from(weights.subarray(offset, offset + size));
      if (layer.shape.length === 2) {
        const limit = Math.sqrt(6 / (layer.shape[0]! + layer.shape[1]!));
        expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(limit);
        expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(limit / 2);
        expect(new Set(values).size).toBe(size);
      } else {
        expect(values.every((v) => v === 0)).toBe(true);
      }
      offset += size;
    }
  });

  it('is deterministic per seed and equals the coordinator-side generator', () => {
    expect(Array.from(initialWeights(5, [4], 2, 1))).toEqual(Array.from(initialWeights(5, [4], 2, 1)));
    expect(Array.from(initialWeights(5, [4], 2, 1))).not.toEqual(Array.from(initialWeights(5, [4], 2, 2)));
    expect(Array.from(initialWeights(5, [4], 2, 1))).toEqual(Array.from(sharedInitialWeights(5, [4], 2, 1)));
  });

  it('refuses impossible architectures', () => {
    expect(() => initialWeights(0, [], 3, 1)).toThrow(expect.objectContaining({ code: 'TRAINING_SETTINGS_INVALID' }));
    expect(() => initialWeights(3, [0], 3, 1)).toThrow(expect.objectContaining({ code: 'TRAINING_SETTINGS_INVALID' }));
    expect(() => initialWeights(3, [], 1, 1)).toThrow(expect.objectContaining({ code: 'TRAINING_SETTINGS_INVALID' }));
    expect(() => initialWeights(3, [], 2, 0.5)).toThrow(expect.objectContaining({ code: 'TRAINING_SETTINGS_INVALID' }));
  });
});
