import { SandboxError } from './errors.js';
import { TRAINER_FILES } from './install-root.js';
import type { MonitorThresholds, SandboxLimits } from './limits.js';
import { encodeTrainerRequest, type TrainerBackend } from './protocol/messages.js';
import type { TrainerLaunch } from './run-trainer.js';
import { runTrainer } from './run-trainer.js';

/** A tiny, fixed training task: enough to load every module and the WebAssembly binary once. */
function traceRequest(backend: TrainerBackend): Buffer {
  const n = 8;
  const d = 2;
  const arch = { inputs: d, hidden: [2], classes: 2, activation: 'relu' as const };
  const weightCount = d * 2 + 2 + 2 * 2 + 2;
  return encodeTrainerRequest({
    arch,
    backend,
    settings: { localEpochs: 1, batchSize: 4, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
    globalWeights: new Float32Array(weightCount).fill(0.1),
    data: { x: Float32Array.from({ length: n * d }, (_, i) => (i % 3) - 1), y: Int32Array.from({ length: n }, (_, i) => i % 2), n, d },
  });
}

/**
 * Runs the real trainer once with the whole install root visible (read-only) and the trace hooks
 * preloaded, and returns the host paths of every file it loaded. Those files, and nothing else,
 * become the trainer bundle.
 */
export async function traceTrainerFiles(options: {
  launch: (preload: readonly string[]) => TrainerLaunch;
  hostRoot: string;
  trainerRootSeen: string;
  limits: SandboxLimits;
  thresholds: MonitorThresholds & { sampleIntervalMs: number };
  backend: TrainerBackend;
}): Promise<string[]> {
  const launch = options.launch([TRAINER_FILES.traceHooks, TRAINER_FILES.guard]);
  const outcome = await runTrainer(launch, traceRequest(options.backend), { limits: options.limits, thresholds: options.thresholds, maxFrameBytes: 64 * 1024 * 1024 });
  const result = outcome.frames.find((f) => f.header.type === 'result');
  const trace = outcome.frames.find((f) => f.header.type === 'trace');
  if (outcome.fatal !== undefined || result === undefined || trace === undefined || !Array.isArray(trace.header.files)) {
    const error = outcome.frames.find((f) => f.header.type === 'error');
    const why = outcome.fatal?.detail ?? (error ? `${String(error.header.code)}: ${String(error.header.message)}` : `exit ${String(outcome.exit.code)}, ${outcome.exit.stderrTail.slice(-500)}`);
    throw new SandboxError('SANDBOX_BUNDLE_INVALID', `tracing the trainer's files failed: ${why}`, { breaches: outcome.breaches });
  }
  const prefix = options.trainerRootSeen.endsWith('/') ? options.trainerRootSeen : `${options.trainerRootSeen}/`;
  return (trace.header.files as unknown[])
    .filter((f): f is string => typeof f === 'string' && f.startsWith(prefix))
    .map((f) => `${options.hostRoot}/${f.slice(prefix.length)}`);
}
