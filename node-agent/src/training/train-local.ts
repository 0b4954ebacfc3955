import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from './backend.js';
import { meanGradient } from './dense-network.js';
import { privatizedGradient, poissonSample } from './dp-sgd.js';
import { TrainingError } from './errors.js';
import { evaluateTensors } from './evaluate.js';
import { createOptimizer } from './optimizer.js';
import { seededRandom, shuffleInPlace, type SeededRandom } from './prng.js';
import type { LocalTrainingResult, LocalTrainingSettings, TrainingArchitecture, TrainingData } from './types.js';
import { assertArchitecture, assertData, assertSettings, assertWeights } from './validate.js';

/**
 * One site's local training from the global weights: softmax cross-entropy, minibatch SGD or Adam
 * for `localEpochs`, shuffled by a generator seeded from `settings.seed` (same seed, data and
 * backend: same weights). With `proximalMu` it minimises the FedProx objective
 * loss + mu/2 * ||w - w_global||^2 exactly (its gradient mu * (w - w_global) is added to every
 * step). With `dp` it runs DP-SGD: `localEpochs * ceil(1 / sampleRate)` Poisson-sampled steps of
 * clipped, noised gradients (`batchSize` is then unused).
 */
export async function trainLocal(
  arch: TrainingArchitecture,
  globalWeights: Float32Array,
  data: TrainingData,
  settings: LocalTrainingSettings,
): Promise<LocalTrainingResult> {
  assertArchitecture(arch);
  assertWeights(arch, globalWeights, 'The global weight vector');
  assertData(arch, data);
  assertSettings(settings);
  await initTrainingBackend();

  const random = seededRandom(settings.seed);
  const x = tf.tensor2d(data.x, [data.n, data.d]);
  const y = tf.tensor1d(data.y, 'int32');
  const anchor = tf.tensor1d(globalWeights);
  const weights = tf.variable(anchor, true) as tf.Variable<tf.Rank.R1>;
  const optimizer = createOptimizer(settings.optimizer, settings.learningRate, globalWeights.length);
  const mu = settings.proximalMu ?? 0;
  try {
    let steps = 0;
    for (const batch of batches(data.n, settings, random)) {
      const gradient = tf.tidy(() => {
        const dataGradient =
          settings.dp === undefined
            ? minibatchGradient(arch, weights, x, y, batch)
            : privatizedGradient(arch, weights, x, y, batch, settings.dp);
        return mu === 0 ? dataGradient : (tf.add(dataGradient, tf.mul(tf.sub(weights, anchor), mu)) as tf.Tensor1D);
      });
      optimizer.step(weights, gradient);
      gradient.dispose();
      steps += 1;
    }
    const trained = Float32Array.from(weights.dataSync());
    if (!trained.every(Number.isFinite)) {
      throw new TrainingError(
        'TRAINING_DIVERGED',
        `Local training produced non-finite weights after ${steps} steps; lower learningRate (now ${settings.learningRate}) or check the data's scale (is standardisation on?).`,
      );
    }
    const { loss, accuracy } = evaluateTensors(arch, weights, x, y);
    return { weights: trained, loss, accuracy, numSamples: data.n, steps };
  } finally {
    optimizer.dispose();
    tf.dispose([x, y, anchor, weights]);
  }
}

function minibatchGradient(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D, batch: Int32Array): tf.Tensor1D {
  const rows = tf.tensor1d(batch, 'int32');
  return meanGradient(arch, weights, tf.gather(x, rows), tf.gather(y, rows));
}

/** Row indices of every step, in order: shuffled minibatches, or Poisson samples under DP. */
function* batches(n: number, settings: LocalTrainingSettings, random: SeededRandom): Generator<Int32Array> {
  const dp = settings.dp;
  if (dp !== undefined) {
    const stepsPerEpoch = Math.ceil(1 / dp.sampleRate);
    for (let step = 0; step < settings.localEpochs * stepsPerEpoch; step++) yield poissonSample(n, dp, random);
    return;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let epoch = 0; epoch < settings.localEpochs; epoch++) {
    shuffleInPlace(order, random);
    for (let start = 0; start < n; start += settings.batchSize) {
      yield order.slice(start, start + settings.batchSize);
    }
  }
}
