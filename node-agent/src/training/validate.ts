import { TrainingError } from './errors.js';
import { weightCount } from './layout.js';
import type { LocalTrainingSettings, TrainingArchitecture, TrainingData } from './types.js';

const isPositiveInteger = (v: number): boolean => Number.isSafeInteger(v) && v > 0;

export function assertArchitecture(arch: TrainingArchitecture): void {
  const bad = (what: string): never => {
    throw new TrainingError('TRAINING_SETTINGS_INVALID', `Model architecture: ${what}.`);
  };
  if (!isPositiveInteger(arch.inputs)) bad(`inputs must be a positive integer, got ${arch.inputs}`);
  if (!Number.isSafeInteger(arch.classes) || arch.classes < 2) bad(`classes must be an integer >= 2, got ${arch.classes}`);
  arch.hidden.forEach((units, i) => {
    if (!isPositiveInteger(units)) bad(`hidden[${i}] must be a positive integer, got ${units}`);
  });
  if (arch.activation !== 'relu' && arch.activation !== 'tanh') {
    bad(`activation must be "relu" or "tanh", got ${JSON.stringify(arch.activation)}`);
  }
}

export function assertWeights(arch: TrainingArchitecture, weights: Float32Array, what: string): void {
  const expected = weightCount(arch);
  if (weights.length !== expected) {
    throw new TrainingError(
      'TRAINING_WEIGHTS_SHAPE',
      `${what} has ${weights.length} values; inputs=${arch.inputs}, hidden=[${arch.hidden.join(', ')}], classes=${arch.classes} needs ${expected}.`,
    );
  }
  if (!weights.every(Number.isFinite)) {
    throw new TrainingError('TRAINING_WEIGHTS_SHAPE', `${what} contains non-finite values.`);
  }
}

export function assertData(arch: TrainingArchitecture, data: TrainingData): void {
  const bad = (what: string): never => {
    throw new TrainingError('TRAINING_DATA_SHAPE', `Training data: ${what}.`);
  };
  if (data.d !== arch.inputs) bad(`has ${data.d} features per row, the model takes ${arch.inputs}`);
  if (data.n === 0) throw new TrainingError('TRAINING_DATA_EMPTY', 'There are no rows to train or evaluate on.');
  if (data.x.length !== data.n * data.d) bad(`x has ${data.x.length} values, expected n*d = ${data.n * data.d}`);
  if (data.y.length !== data.n) bad(`y has ${data.y.length} labels, expected n = ${data.n}`);
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i]!;
    if (label < 0 || label >= arch.classes) bad(`y[${i}] = ${label} is not a class index in 0..${arch.classes - 1}`);
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i]!)) bad(`x[${i}] (row ${Math.floor(i / data.d)}) is not finite`);
  }
}

export function assertSettings(settings: LocalTrainingSettings): void {
  const bad = (what: string): never => {
    throw new TrainingError('TRAINING_SETTINGS_INVALID', `Training settings: ${what}.`);
  };
  if (!isPositiveInteger(settings.localEpochs)) bad(`localEpochs must be a positive integer, got ${settings.localEpochs}`);
  if (!isPositiveInteger(settings.batchSize)) bad(`batchSize must be a positive integer, got ${settings.batchSize}`);
  if (!(settings.learningRate > 0 && Number.isFinite(settings.learningRate))) {
    bad(`learningRate must be a positive number, got ${settings.learningRate}`);
  }
  if (settings.optimizer !== 'sgd' && settings.optimizer !== 'adam') {
    bad(`optimizer must be "sgd" or "adam", got ${JSON.stringify(settings.optimizer)}`);
  }
  if (!Number.isSafeInteger(settings.seed)) bad(`seed must be a safe integer, got ${settings.seed}`);
  const mu = settings.proximalMu;
  if (mu !== undefined && !(mu >= 0 && Number.isFinite(mu))) bad(`proximalMu must be a number >= 0, got ${mu}`);
  const dp = settings.dp;
  if (dp !== undefined) {
    if (!(dp.clipNorm > 0 && Number.isFinite(dp.clipNorm))) bad(`dp.clipNorm must be a positive number, got ${dp.clipNorm}`);
    if (!(dp.noiseMultiplier >= 0 && Number.isFinite(dp.noiseMultiplier))) {
      bad(`dp.noiseMultiplier must be a number >= 0, got ${dp.noiseMultiplier}`);
    }
    if (!(dp.sampleRate > 0 && dp.sampleRate <= 1)) bad(`dp.sampleRate must be in (0, 1], got ${dp.sampleRate}`);
    if (typeof dp.gaussian !== 'function') bad('dp.gaussian must be a function (count, sigma) => Float64Array');
  }
}
