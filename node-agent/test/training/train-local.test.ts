import { describe, it, expect, beforeAll } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { initTrainingBackend } from '../../src/training/backend.js';
import { evaluate } from '../../src/training/evaluate.js';
import { initialWeights } from '../../src/training/initial-weights.js';
import { trainLocal } from '../../src/training/train-local.js';
import type { DpSgdSettings, LocalTrainingSettings, TrainingArchitecture } from '../../src/training/types.js';
import { seededRandom } from '../../src/training/prng.js';
import { blobs } from './fixtures.js';

const arch: TrainingArchitecture = { inputs: 4, hidden: [8], classes: 3, activation: 'relu' };
const data = blobs(300, 4, 1);
const start = initialWeights(arch.inputs, arch.hidden, arch.classes, 42);
const settings: LocalTrainingSettings = { localEpochs: 5, batchSize: 32, learningRate: 0.05, optimizer: 'adam', seed: 9 };

/** A plain Gaussian source for tests (the agent injects a cryptographic one). */
function testGaussian(seed: number): { calls: Array<[number, number]>; gaussian: DpSgdSettings['gaussian'] } {
  const random = seededRandom(seed);
  const calls: Array<[number, number]> = [];
  return {
    calls,
    gaussian: (count, sigma) => {
      calls.push([count, sigma]);
      return Float64Array.from({ length: count }, () => sigma * Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next()));
    },
  };
}

function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

beforeAll(async () => {
  await initTrainingBackend();
});

describe('trainLocal', () => {
  it('learns: accuracy and loss improve over the starting weights', async () => {
    const before = await evaluate(arch, start, data);
    const result = await trainLocal(arch, start, data, settings);
    expect(result.accuracy).toBeGreaterThan(0.9);
    expect(result.accuracy).toBeGreaterThan(before.accuracy + 0.2);
    expect(result.loss).toBeLessThan(before.loss);
    expect(result.numSamples).toBe(300);
    expect(result.steps).toBe(5 * Math.ceil(300 / 32));
    const check = await evaluate(arch, result.weights, data);
    expect(check.accuracy).toBeCloseTo(result.accuracy, 10);
    expect(check.loss).toBeCloseTo(result.loss, 5);
  });

  it.each(['sgd', 'adam'] as const)('is deterministic for a seed and changes with it (%s)', async (optimizer) => {
    const a = await trainLocal(arch, start, data, { ...settings, optimizer, localEpochs: 2 });
    const b = await trainLocal(arch, start, data, { ...settings, optimizer, localEpochs: 2 });
    const c = await trainLocal(arch, start, data, { ...settings, optimizer, localEpochs: 2, seed: 10 });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(distance(a.weights, c.weights)).toBeGreaterThan(0);
  });

  it('does not modify the global weights it starts from', async () => {
    const copy = Float32Array.from(start);
    await trainLocal(arch, start, data, settings);
    expect(Array.from(start)).toEqual(Array.from(copy));
  });

  it('leaks no tensors across calls, with and without DP', async () => {
    await trainLocal(arch, start, data, { ...settings, localEpochs: 1 });
    const before = tf.memory().numTensors;
    await trainLocal(arch, start, data, { ...settings, localEpochs: 1, proximalMu: 0.1 });
    await trainLocal(arch, start, data, { ...settings, localEpochs: 1, dp: { clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.1, gaussian: testGaussian(1).gaussian } });
    await evaluate(arch, start, data);
    await expect(trainLocal(arch, start.subarray(1), data, settings)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('adds the exact FedProx gradient mu * (w - w_global)', async () => {
    // Full-batch SGD: step 1 starts at w_global, so the proximal term is zero and both runs reach w1;
    // step 2 then differs by exactly -lr * mu * (w1 - w_global).
    const full: LocalTrainingSettings = { localEpochs: 1, batchSize: data.n, learningRate: 0.1, optimizer: 'sgd', seed: 3 };
    const mu = 0.5;
    const w1 = (await trainLocal(arch, start, data, full)).weights;
    const plain = (await trainLocal(arch, start, data, { ...full, localEpochs: 2 })).weights;
    const proximal = (await trainLocal(arch, start, data, { ...full, localEpochs: 2, proximalMu: mu })).weights;
    let worst = 0;
    for (let i = 0; i < start.length; i++) {
      const expected = plain[i]! - full.learningRate * mu * (w1[i]! - start[i]!);
      worst = Math.max(worst, Math.abs(proximal[i]! - expected));
    }
    expect(distance(plain, proximal)).toBeGreaterThan(1e-4);
    expect(worst).toBeLessThan(1e-6);
  });

  it('keeps weights closer to the global model as mu grows', async () => {
    const far = await trainLocal(arch, start, data, { ...settings, optimizer: 'sgd', learningRate: 0.1 });
    const near = await trainLocal(arch, start, data, { ...settings, optimizer: 'sgd', learningRate: 0.1, proximalMu: 5 });
    expect(distance(near.weights, start)).toBeLessThan(0.7 * distance(far.weights, start));
  });

  it('refuses weights, data and settings that do not fit, with codes', async () => {
    await expect(trainLocal(arch, start.subarray(1), data, settings)).rejects.toMatchObject({ code: 'TRAINING_WEIGHTS_SHAPE' });
    await expect(trainLocal(arch, start, { ...data, d: 3, x: data.x.subarray(0, 900) }, settings)).rejects.toMatchObject({ code: 'TRAINING_DATA_SHAPE' });
    await expect(trainLocal(arch, start, { ...data, y: Int32Array.from(data.y, () => 3) }, settings)).rejects.toMatchObject({ code: 'TRAINING_DATA_SHAPE' });
    await expect(trainLocal(arch, start, { x: new Float32Array(0), y: new Int32Array(0), n: 0, d: 4 }, settings)).rejects.toMatchObject({ code: 'TRAINING_DATA_EMPTY' });
    await expect(trainLocal(arch, start, data, { ...settings, learningRate: 0 })).rejects.toMatchObject({ code: 'TRAINING_SETTINGS_INVALID' });
    await expect(trainLocal(arch, start, data, { ...settings, batchSize: 1.5 })).rejects.toMatchObject({ code: 'TRAINING_SETTINGS_INVALID' });
    await expect(trainLocal(arch, start, data, { ...settings, proximalMu: -1 })).rejects.toMatchObject({ code: 'TRAINING_SETTINGS_INVALID' });
    const nan = Float32Array.from(start);
    nan[0] = Number.NaN;
    await expect(trainLocal(arch, nan, data, settings)).rejects.toMatchObject({ code: 'TRAINING_WEIGHTS_SHAPE' });
  });

  it('withholds diverged weights instead of returning NaN', async () => {
    const wild = blobs(64, 4, 2);
    const scaled = { ...wild, x: wild.x.map((v) => v * 1e18) };
    await expect(trainLocal(arch, start, scaled, { ...settings, optimizer: 'sgd', learningRate: 1e10 })).rejects.toMatchObject({ code: 'TRAINING_DIVERGED' });
  });
});

describe('trainLocal with DP-SGD', () => {
  const dpBase = { clipNorm: 1, noiseMultiplier: 1.1, sampleRate: 0.1 };

  it('takes epochs * ceil(1/q) Poisson steps and draws one noise vector of std multiplier*clip per step', async () => {
    const source = testGaussian(5);
    const result = await trainLocal(arch, start, data, { ...settings, localEpochs: 2, dp: { ...dpBase, gaussian: source.gaussian } });
    expect(result.steps).toBe(2 * 10);
    expect(source.calls).toHaveLength(20);
    for (const [count, sigma] of source.calls) {
      expect(count).toBe(start.length);
      expect(sigma).toBeCloseTo(1.1, 12);
    }
    expect(result.weights.every(Number.isFinite)).toBe(true);
  });

  it('still learns with moderate noise', async () => {
    const result = await trainLocal(arch, start, data, {
      ...settings,
      localEpochs: 4,
      learningRate: 0.05,
      dp: { clipNorm: 1, noiseMultiplier: 0.5, sampleRate: 0.2, gaussian: testGaussian(6).gaussian },
    });
    expect(result.accuracy).toBeGreaterThan(0.8);
  });

  it('with no noise and a huge clip norm, one full-sample step equals plain full-batch SGD', async () => {
    const sgd: LocalTrainingSettings = { localEpochs: 1, batchSize: data.n, learningRate: 0.1, optimizer: 'sgd', seed: 4 };
    const plain = await trainLocal(arch, start, data, sgd);
    const never = (): Float64Array => {
      throw new Error('noise must not be drawn when noiseMultiplier is 0');
    };
    const dp = await trainLocal(arch, start, data, { ...sgd, dp: { clipNorm: 1e9, noiseMultiplier: 0, sampleRate: 1, gaussian: never } });
    expect(dp.steps).toBe(1);
    expect(distance(plain.weights, dp.weights)).toBeLessThan(1e-5);
  });

  it('uses the injected sampling source for Poisson subsampling', async () => {
    let draws = 0;
    const sampling = (count: number): Float64Array => {
      draws += count;
      return new Float64Array(count).fill(0.99); // nobody sampled: only noise moves the weights
    };
    const source = testGaussian(8);
    const result = await trainLocal(arch, start, data, { ...settings, localEpochs: 1, dp: { ...dpBase, sampling, gaussian: source.gaussian } });
    expect(draws).toBe(10 * data.n);
    expect(distance(result.weights, start)).toBeGreaterThan(0);
  });

  it('refuses a noise source that returns the wrong count or non-finite values', async () => {
    const short = (count: number): Float64Array => new Float64Array(count - 1);
    const broken = (count: number): Float64Array => new Float64Array(count).fill(Number.NaN);
    await expect(trainLocal(arch, start, data, { ...settings, dp: { ...dpBase, gaussian: short } })).rejects.toMatchObject({ code: 'TRAINING_NOISE_INVALID' });
    await expect(trainLocal(arch, start, data, { ...settings, dp: { ...dpBase, gaussian: broken } })).rejects.toMatchObject({ code: 'TRAINING_NOISE_INVALID' });
    await expect(trainLocal(arch, start, data, { ...settings, dp: { ...dpBase, sampleRate: 0, gaussian: short } })).rejects.toMatchObject({ code: 'TRAINING_SETTINGS_INVALID' });
  });
});
