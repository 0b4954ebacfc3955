import * as tf from '@tensorflow/tfjs';
import { denseSlots } from './layout.js';
import type { TrainingArchitecture } from './types.js';

/**
 * The dense network written with explicit matmuls instead of the Layers API: the backward pass
 * below is the exact gradient of mean softmax cross-entropy, and the same deltas give per-example
 * gradients in one batched product, which DP-SGD needs. Call these inside `tf.tidy`.
 */
interface DenseLayer {
  readonly kernel: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

interface ForwardPass {
  /** Inputs of each layer: activations[0] is x, activations[l] the output of hidden layer l. */
  readonly activations: tf.Tensor2D[];
  readonly logits: tf.Tensor2D;
}

/** Views of the flat [P] weight tensor as kernels and biases, in the shared layout. */
export function unpackLayers(arch: TrainingArchitecture, weights: tf.Tensor1D): DenseLayer[] {
  return denseSlots(arch).map((slot) => ({
    kernel: tf.slice(weights, [slot.kernelOffset], [slot.inputs * slot.units]).reshape([slot.inputs, slot.units]),
    bias: tf.slice(weights, [slot.biasOffset], [slot.units]),
  }));
}

export function forward(arch: TrainingArchitecture, layers: readonly DenseLayer[], x: tf.Tensor2D): ForwardPass {
  const activations: tf.Tensor2D[] = [x];
  let input = x;
  for (let l = 0; l + 1 < layers.length; l++) {
    const layer = layers[l]!;
    const preActivation = tf.fused.matMul({ a: input, b: layer.kernel, bias: layer.bias, activation: arch.activation === 'relu' ? 'relu' : 'linear' });
    input = (arch.activation === 'tanh' ? tf.tanh(preActivation) : preActivation) as tf.Tensor2D;
    activations.push(input);
  }
  const last = layers[layers.length - 1]!;
  return { activations, logits: tf.fused.matMul({ a: input, b: last.kernel, bias: last.bias }) as tf.Tensor2D };
}

/**
 * One-hot targets as float32. Cast explicitly: the WASM backend's OneHot kernel ignores the dtype
 * argument and fills a "float32" tensor with int32 bit patterns (tfjs 4.22).
 */
function oneHotFloat(y: tf.Tensor1D, classes: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(y, classes), 'float32') as tf.Tensor2D;
}

/** d(activation)/d(pre-activation), written in terms of the activation itself. */
function activationSlope(arch: TrainingArchitecture, activation: tf.Tensor2D): tf.Tensor2D {
  return arch.activation === 'relu' ? tf.step(activation) : tf.sub(1, tf.square(activation));
}

/**
 * Per-example output deltas d(loss_i)/d(logits_i) = softmax_i - onehot_i, and each layer's delta by
 * back-propagation, last layer first.
 */
function backpropDeltas(arch: TrainingArchitecture, layers: readonly DenseLayer[], pass: ForwardPass, y: tf.Tensor1D): tf.Tensor2D[] {
  const probabilities = tf.softmax(pass.logits);
  let delta: tf.Tensor2D = tf.sub(probabilities, oneHotFloat(y, arch.classes));
  const deltas: tf.Tensor2D[] = [delta];
  for (let l = layers.length - 1; l > 0; l--) {
    const upstream = tf.matMul(delta, layers[l]!.kernel, false, true);
    delta = tf.mul(upstream, activationSlope(arch, pass.activations[l]!));
    deltas.unshift(delta);
  }
  return deltas;
}

/** Gradient of the mean cross-entropy over the batch, flat [P] in the shared layout. */
export function meanGradient(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  const layers = unpackLayers(arch, weights);
  const pass = forward(arch, layers, x);
  const deltas = backpropDeltas(arch, layers, pass, y);
  const scale = 1 / x.shape[0];
  const parts: tf.Tensor1D[] = [];
  deltas.forEach((delta, l) => {
    parts.push(tf.matMul(pass.activations[l]!, delta, true, false).reshape([-1]).mul(scale));
    parts.push(tf.sum(delta, 0).mul(scale));
  });
  return tf.concat(parts);
}

/**
 * Per-example gradients of the cross-entropy, [B, P]: each dense kernel's gradient is the outer
 * product of that example's layer input and output delta, computed for the whole batch at once as
 * a batched matmul [B, in, 1] x [B, 1, out]; the bias gradient is the delta itself.
 */
export function perExampleGradients(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor2D {
  const layers = unpackLayers(arch, weights);
  const pass = forward(arch, layers, x);
  const deltas = backpropDeltas(arch, layers, pass, y);
  const batch = x.shape[0];
  const parts: tf.Tensor2D[] = [];
  deltas.forEach((delta, l) => {
    const input = pass.activations[l]!;
    const outer = tf.matMul(input.expandDims(2) as tf.Tensor3D, delta.expandDims(1) as tf.Tensor3D);
    parts.push(outer.reshape([batch, -1]));
    parts.push(delta);
  });
  return tf.concat(parts, 1);
}

/**
 * Clips each row (one example's full gradient) to L2 norm <= clipNorm, scaling by
 * min(1, clipNorm / norm), and sums the rows: [B, P] -> [P].
 */
export function clipAndSum(perExample: tf.Tensor2D, clipNorm: number): tf.Tensor1D {
  const norms = tf.sqrt(tf.sum(tf.square(perExample), 1));
  const factors = tf.minimum(1, tf.div(clipNorm, tf.maximum(norms, 1e-12)));
  return tf.matMul(factors.reshape([1, -1]), perExample).reshape([-1]);
}

/** Mean cross-entropy (without any proximal term) of the batch. */
export function meanLoss(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  const { logits } = forward(arch, unpackLayers(arch, weights), x);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), oneHotFloat(y, arch.classes)), 1))) as tf.Scalar;
}

/** Sum of per-example cross-entropies and the count of correct argmax predictions. */
export function lossSumAndCorrect(arch: TrainingArchitecture, weights: tf.Tensor1D, x: tf.Tensor2D, y: tf.Tensor1D): [tf.Scalar, tf.Scalar] {
  const { logits } = forward(arch, unpackLayers(arch, weights), x);
  const picked = tf.sum(tf.mul(tf.logSoftmax(logits), oneHotFloat(y, arch.classes)), 1);
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, 'int32')), 'float32'));
  return [tf.neg(tf.sum(picked)) as tf.Scalar, correct as tf.Scalar];
}
