import type { TrainingSettings } from '@medfed/proto';
import type { TrainingArchitecture } from '../../training/types.js';
import { encodeFrame, FrameError, type Frame } from './frames.js';

/**
 * The trainer protocol. The agent sends one `train` frame on the trainer's stdin and closes it;
 * the trainer answers on stdout with one `result` or `error` frame. The guard may instead send a
 * `violation` frame, and a tracing run appends a `trace` frame. Nothing else crosses the boundary:
 * the request holds only the prepared matrix and labels (never the CSV, column names or
 * identifiers), and the reply only weights and metrics.
 */
export const TRAINER_PROTOCOL_VERSION = 1;

/** DP-SGD parameters; the trainer draws its own noise from the kernel's CSPRNG. */
export interface SandboxDpSettings {
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
}

export type SandboxTrainingSettings = TrainingSettings & {
  readonly proximalMu?: number;
  readonly dp?: SandboxDpSettings;
};

export type TrainerBackend = 'wasm' | 'cpu';

export interface TrainerRequest {
  readonly arch: TrainingArchitecture;
  readonly settings: SandboxTrainingSettings;
  readonly backend: TrainerBackend;
  readonly globalWeights: Float32Array;
  readonly data: { readonly x: Float32Array; readonly y: Int32Array; readonly n: number; readonly d: number };
}

export interface TrainerResult {
  /** The raw new weights (not a delta); the agent computes the update and runs its privacy chain. */
  readonly weights: Float32Array;
  readonly loss: number;
  readonly accuracy: number;
  readonly numSamples: number;
  readonly steps: number;
}

export function encodeTrainerRequest(request: TrainerRequest): Buffer {
  const { arch, settings, backend, data } = request;
  return encodeFrame(
    { type: 'train', v: TRAINER_PROTOCOL_VERSION, arch, settings, backend, n: data.n, d: data.d },
    { weights: request.globalWeights, x: data.x, y: data.y },
  );
}

export function decodeTrainerRequest(frame: Frame): TrainerRequest {
  const h = frame.header;
  if (h.type !== 'train' || h.v !== TRAINER_PROTOCOL_VERSION) throw new FrameError(`expected a train frame of protocol v${TRAINER_PROTOCOL_VERSION}, got ${String(h.type)} v${String(h.v)}`);
  const { weights, x, y } = frame.blobs;
  if (!(weights instanceof Float32Array) || !(x instanceof Float32Array) || !(y instanceof Int32Array)) throw new FrameError('a train frame carries f32 weights, f32 x and i32 y');
  const n = h.n as number;
  const d = h.d as number;
  return {
    arch: h.arch as TrainingArchitecture,
    settings: h.settings as SandboxTrainingSettings,
    backend: h.backend === 'cpu' ? 'cpu' : 'wasm',
    globalWeights: weights,
    data: { x, y, n, d },
  };
}

export function encodeTrainerResult(result: TrainerResult): Buffer {
  const { weights, loss, accuracy, numSamples, steps } = result;
  return encodeFrame({ type: 'result', loss, accuracy, numSamples, steps }, { weights });
}

export function encodeTrainerError(code: string, message: string): Buffer {
  return encodeFrame({ type: 'error', code: code.slice(0, 64), message: message.slice(0, 2000) });
}
