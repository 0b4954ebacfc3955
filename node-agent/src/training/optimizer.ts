import * as tf from '@tensorflow/tfjs';

/**
 * SGD and Adam over the one flat weight vector. Written out (rather than tf.train optimizers) so
 * the state lives in the same layout and each call to `trainLocal` starts from fresh state.
 */
export interface FlatOptimizer {
  /** Applies one step with `gradient` ([P]) to `weights` in place. */
  step(weights: tf.Variable<tf.Rank.R1>, gradient: tf.Tensor1D): void;
  dispose(): void;
}

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

export function createOptimizer(kind: 'sgd' | 'adam', learningRate: number, size: number): FlatOptimizer {
  if (kind === 'sgd') {
    return {
      step: (weights, gradient) => {
        tf.tidy(() => weights.assign(tf.sub(weights, tf.mul(gradient, learningRate))));
      },
      dispose: () => undefined,
    };
  }
  const firstMoment = zerosVariable(size);
  const secondMoment = zerosVariable(size);
  let t = 0;
  return {
    step: (weights, gradient) => {
      t += 1;
      const correction1 = 1 - ADAM.beta1 ** t;
      const correction2 = 1 - ADAM.beta2 ** t;
      tf.tidy(() => {
        firstMoment.assign(tf.add(tf.mul(firstMoment, ADAM.beta1), tf.mul(gradient, 1 - ADAM.beta1)));
        secondMoment.assign(tf.add(tf.mul(secondMoment, ADAM.beta2), tf.mul(tf.square(gradient), 1 - ADAM.beta2)));
        const denominator = tf.add(tf.sqrt(tf.div(secondMoment, correction2)), ADAM.epsilon);
        weights.assign(tf.sub(weights, tf.div(tf.mul(firstMoment, learningRate / correction1), denominator)));
      });
    },
    dispose: () => {
      firstMoment.dispose();
      secondMoment.dispose();
    },
  };
}

function zerosVariable(size: number): tf.Variable<tf.Rank.R1> {
  const zeros = tf.zeros([size]) as tf.Tensor1D;
  const variable = tf.variable(zeros, false);
  zeros.dispose();
  return variable;
}
