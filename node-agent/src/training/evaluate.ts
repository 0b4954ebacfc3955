import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from './backend.js';
import { lossSumAndCorrect } from './dense-network.js';
import type { EvaluationResult, TrainingArchitecture, TrainingData } from './types.js';
import { assertArchitecture, assertData, assertWeights } from './validate.js';

/** Rows per forward pass when evaluating, so 100k-row sites never build one huge tensor. */
const EVALUATION_CHUNK = 8192;

/** Mean cross-entropy and accuracy of `weights` (shared layout) on `data`. */
export async function evaluate(arch: TrainingArchitecture, weights: Float32Array, data: TrainingData): Promise<EvaluationResult> {
  assertArchitecture(arch);
  assertWeights(arch, weights, 'The weight vector');
  assertData(arch, data);
  await initTrainingBackend();
  const w = tf.tensor1d(weights);
  const x = tf.tensor2d(data.x, [data.n, data.d]);
  const y = tf.tensor1d(data.y, 'int32');
  try {
    return evaluateTensors(arch, w, x, y);
  } finally {
    tf.dispose([w, x, y]);
  }
}

/** The same on tensors already on the backend (used by training for its final report). */
export function evaluateTensors(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D): EvaluationResult {
  const n = x.shape[0];
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += EVALUATION_CHUNK) {
    const size = Math.min(EVALUATION_CHUNK, n - start);
    const [chunkLoss, chunkCorrect] = tf.tidy(() => {
      const [loss, hits] = lossSumAndCorrect(arch, weights, tf.slice(x, [start, 0], [size, -1]), tf.slice(y, [start], [size]));
      return [loss.dataSync()[0]!, hits.dataSync()[0]!];
    });
    lossSum += chunkLoss;
    correct += chunkCorrect;
  }
  return { loss: lossSum / n, accuracy: correct / n, numSamples: n };
}
