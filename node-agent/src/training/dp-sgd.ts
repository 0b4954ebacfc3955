import * as tf from '@tensorflow/tfjs';
import { clipAndSum, perExampleGradients } from './dense-network.js';
import { TrainingError } from './errors.js';
import type { SeededRandom } from './prng.js';
import type { DpSgdSettings, TrainingArchitecture } from './types.js';

/** Rows per batched per-example pass: bounds the [B, P] and [B, in, out] intermediates. */
const PER_EXAMPLE_CHUNK = 1024;

/**
 * Poisson subsampling: each of the n rows joins the step's batch independently with probability
 * `sampleRate`, so batch sizes vary and an empty batch is possible (then only noise is applied).
 */
export function poissonSample(n: number, dp: DpSgdSettings, random: SeededRandom): Int32Array {
  const uniforms = dp.sampling?.(n);
  if (uniforms !== undefined && (uniforms.length !== n || !uniforms.every((u) => u >= 0 && u < 1))) {
    throw new TrainingError('TRAINING_NOISE_INVALID', `dp.sampling(${n}) must return ${n} numbers in [0, 1), got ${uniforms.length} values or values out of range.`);
  }
  const picked: number[] = [];
  for (let i = 0; i < n; i++) {
    if ((uniforms === undefined ? random.next() : uniforms[i]!) < dp.sampleRate) picked.push(i);
  }
  return Int32Array.from(picked);
}

/**
 * One privatised gradient: per-example gradients clipped to `clipNorm`, summed, plus Gaussian noise
 * of std `noiseMultiplier * clipNorm` on every coordinate, divided by the expected batch size
 * `sampleRate * n` (not the drawn size, which would itself leak). Returns a [P] tensor.
 */
export function privatizedGradient(
  arch: TrainingArchitecture,
  weights: tf.Tensor1D,
  x: tf.Tensor2D,
  y: tf.Tensor1D,
  batch: Int32Array,
  dp: DpSgdSettings,
): tf.Tensor1D {
  const size = weights.shape[0];
  const noise = gaussianNoise(size, dp);
  return tf.tidy(() => {
    let sum: tf.Tensor1D = tf.zeros([size]);
    for (let start = 0; start < batch.length; start += PER_EXAMPLE_CHUNK) {
      const rows = tf.tensor1d(batch.subarray(start, start + PER_EXAMPLE_CHUNK), 'int32');
      const perExample = perExampleGradients(arch, weights, tf.gather(x, rows), tf.gather(y, rows));
      sum = tf.add(sum, clipAndSum(perExample, dp.clipNorm));
    }
    const expectedBatch = dp.sampleRate * x.shape[0];
    return tf.div(noise === undefined ? sum : tf.add(sum, tf.tensor1d(noise)), expectedBatch);
  });
}

function gaussianNoise(size: number, dp: DpSgdSettings): Float32Array | undefined {
  if (dp.noiseMultiplier === 0) return undefined;
  const sigma = dp.noiseMultiplier * dp.clipNorm;
  const draws = dp.gaussian(size, sigma);
  if (draws.length !== size || !draws.every(Number.isFinite)) {
    throw new TrainingError('TRAINING_NOISE_INVALID', `dp.gaussian(${size}, ${sigma}) must return ${size} finite numbers, got ${draws.length} values or non-finite ones.`);
  }
  return Float32Array.from(draws);
}
