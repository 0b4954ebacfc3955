import { describe, it, expect, beforeAll } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from '../../src/training/backend.js';
import { clipAndSum, meanGradient, meanLoss, perExampleGradients } from '../../src/training/dense-network.js';
import { initialWeights } from '../../src/training/initial-weights.js';
import { seededRandom } from '../../src/training/prng.js';
import type { TrainingArchitecture } from '../../src/training/types.js';

const ARCHITECTURES: TrainingArchitecture[] = [
  { inputs: 5, hidden: [], classes: 3, activation: 'relu' },
  { inputs: 5, hidden: [7], classes: 3, activation: 'relu' },
  { inputs: 4, hidden: [6, 5], classes: 4, activation: 'tanh' },
];

function batch(arch: TrainingArchitecture, size: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const random = seededRandom(seed);
  const x = Float32Array.from({ length: size * arch.inputs }, () => 4 * random.next() - 2);
  const y = Int32Array.from({ length: size }, () => random.nextInt(arch.classes));
  return { x: tf.tensor2d(x, [size, arch.inputs]), y: tf.tensor1d(y, 'int32') };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

beforeAll(async () => {
  await initTrainingBackend();
});

describe('explicit backward pass', () => {
  it.each(ARCHITECTURES)('equals TensorFlow.js autodiff of the mean cross-entropy (%o)', (arch) => {
    const weights = tf.tensor1d(initialWeights(arch.inputs, arch.hidden, arch.classes, 3));
    const { x, y } = batch(arch, 16, 11);
    const manual = tf.tidy(() => meanGradient(arch, weights, x, y).dataSync());
    const autodiff = tf.tidy(() => tf.grad((w: tf.Tensor) => meanLoss(arch, w as tf.Tensor1D, x, y))(weights).dataSync());
    expect(maxAbsDiff(manual, autodiff)).toBeLessThan(1e-5);
    tf.dispose([weights, x, y]);
  });
});

describe('per-example gradients', () => {
  it.each(ARCHITECTURES)('computed in one batch equal gradients computed one example at a time (%o)', (arch) => {
    const weights = tf.tensor1d(initialWeights(arch.inputs, arch.hidden, arch.classes, 5));
    const size = 9;
    const { x, y } = batch(arch, size, 13);
    const batched = tf.tidy(() => perExampleGradients(arch, weights, x, y).arraySync());
    expect(batched).toHaveLength(size);
    for (let i = 0; i < size; i++) {
      const single = tf.tidy(() => meanGradient(arch, weights, tf.slice(x, [i, 0], [1, -1]), tf.slice(y, [i], [1])).dataSync());
      expect(maxAbsDiff(batched[i]!, single)).toBeLessThan(1e-5);
    }
    tf.dispose([weights, x, y]);
  });

  it('average to the batch gradient', () => {
    const arch = ARCHITECTURES[1]!;
    const weights = tf.tensor1d(initialWeights(arch.inputs, arch.hidden, arch.classes, 6));
    const { x, y } = batch(arch, 12, 17);
    const [mean, averaged] = tf.tidy(() => [meanGradient(arch, weights, x, y).dataSync(), tf.mean(perExampleGradients(arch, weights, x, y), 0).dataSync()]);
    expect(maxAbsDiff(mean!, averaged!)).toBeLessThan(1e-6);
    tf.dispose([weights, x, y]);
  });
});

describe('clipAndSum', () => {
  it('bounds every example\'s contribution by the clip norm', () => {
    const arch = ARCHITECTURES[2]!;
    const weights = tf.tensor1d(initialWeights(arch.inputs, arch.hidden, arch.classes, 7).map((w) => 8 * w));
    const { x, y } = batch(arch, 10, 19);
    const clipNorm = 0.05;
    const perExample = tf.tidy(() => perExampleGradients(arch, weights, x, y));
    const norms = tf.tidy(() => Array.from(tf.norm(perExample, 'euclidean', 1).dataSync()));
    expect(Math.min(...norms)).toBeGreaterThan(clipNorm); // the test only bites if clipping is needed
    for (let i = 0; i < 10; i++) {
      const alone = tf.tidy(() => tf.norm(clipAndSum(tf.slice(perExample, [i, 0], [1, -1]) as tf.Tensor2D, clipNorm)).dataSync()[0]!);
      expect(alone).toBeLessThanOrEqual(clipNorm * (1 + 1e-5));
      expect(alone).toBeGreaterThan(clipNorm * (1 - 1e-4));
    }
    const total = tf.tidy(() => tf.norm(clipAndSum(perExample, clipNorm)).dataSync()[0]!);
    expect(total).toBeLessThanOrEqual(10 * clipNorm * (1 + 1e-5));
    tf.dispose([weights, x, y, perExample]);
  });

  it('leaves gradients already inside the clip norm unchanged', () => {
    const arch = ARCHITECTURES[1]!;
    const weights = tf.tensor1d(initialWeights(arch.inputs, arch.hidden, arch.classes, 8));
    const { x, y } = batch(arch, 6, 23);
    const [clipped, plain] = tf.tidy(() => {
      const perExample = perExampleGradients(arch, weights, x, y);
      return [clipAndSum(perExample, 1e6).dataSync(), tf.sum(perExample, 0).dataSync()];
    });
    expect(maxAbsDiff(clipped!, plain!)).toBeLessThan(1e-5);
    tf.dispose([weights, x, y]);
  });
});
